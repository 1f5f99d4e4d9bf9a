# Multi-stage build: both binaries on a small runtime image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
# go.mod replaces sipgo with the patched copy (third_party/sipgo/PATCH.md):
# the module download needs it in place.
COPY third_party/ third_party/
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/edge ./cmd/edge-admin

# Only the two static binaries, on an image with no shell and no package
# manager, run as the distroless "nonroot" user (65532); configuration comes
# from the environment or a mounted -config file (deploy/).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/edge /out/edge-admin /usr/local/bin/
USER 65532:65532
# SIP (UDP/TCP), public HTTP (operators, console, /healthz, /readyz),
# internal metrics, ICE, admin API; RTP ports come from EDGE_RTP_PORTS.
EXPOSE 5060/udp 5060/tcp 8080 9090 8443/udp 8081
ENTRYPOINT ["/usr/local/bin/edge"]
