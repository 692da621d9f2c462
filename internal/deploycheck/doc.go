// Package deploycheck checks the container deployment statically: it holds
// tests only, no code any binary uses.
//
// The tests read docker-compose.yml, the Dockerfile and deploy/ (the
// collector's configuration and image, the environment template) and check
// them against the real binaries and configuration loader, so that the
// deployment cannot drift from the code without a failing test:
//
//   - the file parses, pins every image tag, and has the services postgres,
//     migrations, sandbox, linkserver, worker, riverui and otel-collector;
//   - every service has a healthcheck, except migrations, a one-shot
//     container that runs "worker migrate" and exits (the services after it
//     wait for it to complete successfully instead);
//   - every variable set on a pfmsync service is one its binary reads
//     (config.Variables, or a client-secret variable an institution names),
//     and each service's environment loads with config.Load;
//   - the sandbox's flags and the worker's and link server's subcommands are
//     accepted by the binaries, built and asked for their usage;
//   - healthcheck URLs, published ports, listen addresses and the URLs the
//     services give each other agree;
//   - the Dockerfile builds the binaries the services run and runs as a
//     non-root user, and healthchecks of images built here run a probe the
//     image installs;
//   - the collector's pipelines use only components it defines;
//   - the secrets' defaults say dev-only, and deploy/env.example lists every
//     variable the compose file interpolates.
//
// No container engine is needed: run go test ./internal/deploycheck/.
package deploycheck
