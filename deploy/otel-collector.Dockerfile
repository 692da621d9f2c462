# syntax=docker/dockerfile:1
#
# The upstream collector image is built FROM scratch: no shell and no HTTP
# client, so a container healthcheck has nothing to run. This adds a static
# BusyBox installed under the name wget only, which probes the collector's
# health_check extension (deploy/otel-collector.yaml). Nothing else changes.

FROM busybox:1.37.0-musl AS probe

FROM otel/opentelemetry-collector-contrib:0.158.0
COPY --from=probe /bin/busybox /usr/local/bin/wget
