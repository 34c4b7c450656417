# mfstack's service as a container image built with Docker: for `mfstack deploy --service-image URI`
# where the deployer cannot publish its own image (see the README), and as a drop-in for the
# reference metadata-service image: the same ports (8080 API, 8082 migrations, 8083 UI API) and the
# same MF_METADATA_* variables. The entrypoint is the binary and the command defaults to `serve`, as
# in the image `mfstack deploy` publishes, so the stack's task definitions (`serve`,
# `serve --ui-only`, `migrate up`) run either.
#
#   docker build -t mfstack .
#   docker run -p 8080:8080 -p 8082:8082 -e MF_METADATA_DB_HOST=… mfstack

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The service needs neither the AWS SDK nor the template: leaving out the `deploy` feature keeps the
# image small and the build short.
RUN cargo build --release --locked -p mfstack-cli --no-default-features \
 && install -m 0755 target/release/mfstack /usr/local/bin/mfstack

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/mfstack --create-home mfstack
COPY --from=build /usr/local/bin/mfstack /usr/local/bin/mfstack
USER mfstack
ENV MF_METADATA_HOST=0.0.0.0 \
    MF_METADATA_PORT=8080 \
    MF_MIGRATION_PORT=8082 \
    MF_UI_METADATA_HOST=0.0.0.0 \
    MFSTACK_DATA_DIR=/var/lib/mfstack
EXPOSE 8080 8082 8083
ENTRYPOINT ["/usr/local/bin/mfstack"]
CMD ["serve"]
