# Multi-stage build: both binaries on a small runtime image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/edge ./cmd/edge-admin

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/edge /out/edge-admin /usr/local/bin/
COPY configs/ /etc/edge/
USER nonroot:nonroot
# SIP (UDP/TCP), HTTP (metrics, operators), admin API; RTP ports come from EDGE_RTP_PORTS.
EXPOSE 5060/udp 5060/tcp 8080 8081
ENTRYPOINT ["/usr/local/bin/edge"]
