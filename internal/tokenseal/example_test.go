package tokenseal_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

func Example() {
	ctx := context.Background()
	// In production the ring comes from PFMSYNC_TOKEN_KEYS or
	// PFMSYNC_TOKEN_KEYS_FILE through tokenseal.LoadKeyRing.
	ring, err := tokenseal.ParseKeyRing("v2:" + tokenseal.GenerateKey() + ",v1:" + tokenseal.GenerateKey())
	if err != nil {
		log.Fatal(err)
	}
	sealer := tokenseal.New(ring)
	c := tokenseal.Context{Purpose: tokenseal.PurposeRefreshToken, Subject: "6f1c2a9e-3b5d-4c1e-9a7f-0d2e4b6c8a10"}

	sealed, err := sealer.Seal(ctx, []byte("refresh-token"), c)
	if err != nil {
		log.Fatal(err)
	}
	id, _ := tokenseal.KeyID(sealed)
	fmt.Println("sealed under", id)

	plain, err := sealer.Open(ctx, sealed, c)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(plain))

	// Copied to another link's row, it does not open.
	_, err = sealer.Open(ctx, sealed, tokenseal.Context{Purpose: tokenseal.PurposeRefreshToken, Subject: "another-link"})
	fmt.Println(errors.Is(err, tokenseal.ErrOpen))
	// Output:
	// sealed under v2
	// refresh-token
	// true
}
