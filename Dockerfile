# syntax=docker/dockerfile:1
#
# One image, three binaries: /usr/local/bin/worker, /usr/local/bin/linkserver
# and /usr/local/bin/sandbox. The image sets no entrypoint: each compose
# service names the binary it runs. See deploy/README.md.
#
#   docker build --build-arg VERSION=$(git describe --always --dirty) -t pfmsync:dev .

FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-mod=readonly
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath \
      -ldflags "-s -w -X github.com/pfmsync/pfmsync/internal/bootstrap.Version=${VERSION}" \
      -o /out/ ./cmd/worker ./cmd/linkserver ./cmd/sandbox

# A static BusyBox, installed under the name wget only, is the image's HTTP
# probe for container healthchecks (the distroless base has no shell, curl
# or wget, and the binaries have no probe subcommand). Invoked as wget it
# runs the wget applet and nothing else.
FROM busybox:1.37.0-musl AS probe

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="pfmsync" \
      org.opencontainers.image.description="Syncs Banno Consumer API bank data into PostgreSQL: worker, link server and sandbox institution" \
      org.opencontainers.image.source="https://github.com/pfmsync/pfmsync" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"
COPY --from=build /out/worker /out/linkserver /out/sandbox /usr/local/bin/
COPY --from=probe /bin/busybox /usr/local/bin/wget
# 65532: the distroless image's nonroot user.
USER 65532:65532
# sandbox 8080, link server 8081 (+ admin 8082), worker metrics 9091
EXPOSE 8080 8081 8082 9091
