# One image for the five Executor apps (api, session-service, template-service, runner,
# metrics). A container runs the app named by APP (default api), or the command it is given:
#   docker run executor/app node dist/apps/runner/src/main.js
#
# Build it on the locally bootstrapped Debian base (scripts/build-images.sh makes it; it has
# no Node, so Node comes from Debian) or on a public Node image where a registry is reachable:
#   docker build -t executor/app:latest .
#   docker build --build-arg BASE_IMAGE=node:20-bookworm-slim -t executor/app:latest .
# Where HTTPS goes through an intercepting proxy, pass its CA (PEM text) for the npm install:
#   docker build --build-arg EXTRA_CA_CERTS="$(cat /path/to/ca.crt)" ...
# The certificate is used by the build stage only and does not reach the final image.
#
# Only legacy-builder syntax is used, so Debian's docker.io builds it without BuildKit.
ARG BASE_IMAGE=executor/base:bookworm

# ---------------------------------------------------------------------------- build stage
FROM ${BASE_IMAGE} AS build
ARG EXTRA_CA_CERTS=""
ENV DEBIAN_FRONTEND=noninteractive

# Node and npm from Debian when the base has no node; a compiler and Node's headers so
# better-sqlite3 builds from source when no prebuilt binary can be downloaded.
RUN set -eu; \
    pkgs="ca-certificates python3 make g++"; \
    if ! command -v node >/dev/null 2>&1; then pkgs="$pkgs nodejs npm libnode-dev"; fi; \
    apt-get update -qq; \
    apt-get install -y -qq --no-install-recommends $pkgs >/dev/null; \
    rm -rf /var/lib/apt/lists/*; \
    if [ -n "$EXTRA_CA_CERTS" ]; then \
      printf '%s\n' "$EXTRA_CA_CERTS" >/usr/local/share/ca-certificates/executor-build-extra.crt; \
      update-ca-certificates >/dev/null; \
    fi; \
    echo "node $(node --version), npm $(npm --version)"

WORKDIR /app
COPY package.json package-lock.json ./
RUN set -eu; \
    nodedir="$(dirname "$(dirname "$(command -v node)")")"; \
    if [ -f "$nodedir/include/node/node.h" ]; then export npm_config_nodedir="$nodedir"; fi; \
    if [ -s /usr/local/share/ca-certificates/executor-build-extra.crt ]; then \
      export NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/executor-build-extra.crt; \
    fi; \
    SCARF_ANALYTICS=false npm ci --no-audit --no-fund --loglevel=error

# Dev dependencies (typescript, tsc-alias) are needed for the build, then pruned.
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY libs ./libs
COPY apps ./apps
COPY scripts ./scripts
COPY templates ./templates
COPY config ./config
RUN npm run build && npm prune --omit=dev --no-audit --no-fund --loglevel=error

# -------------------------------------------------------------------------- runtime stage
FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive

# npm stays in the image: the runner installs a custom template's npm packages with it.
RUN set -eu; \
    if ! command -v node >/dev/null 2>&1; then \
      apt-get update -qq; \
      apt-get install -y -qq --no-install-recommends nodejs npm ca-certificates >/dev/null; \
      rm -rf /var/lib/apt/lists/*; \
    fi; \
    if ! getent passwd executor >/dev/null; then \
      useradd --system --uid 10100 --user-group --create-home --home-dir /home/executor \
        --shell /usr/sbin/nologin executor; \
    fi; \
    mkdir -p /data /keys; \
    chown executor:executor /data /keys

WORKDIR /app
# The runner finds the repository root by walking up to nest-cli.json, then reads
# apps/runner/kernels/ and templates/ from it; the template-service reads templates/ too.
COPY --from=build /app/package.json /app/nest-cli.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/apps/runner/kernels ./apps/runner/kernels
COPY --from=build /app/templates ./templates
COPY --from=build /app/config ./config

# The compose file mounts the shared volume of the SQLite files on /data and the API keys'
# volume on /keys; a new named volume takes its owner from the image's folder.
ENV NODE_ENV=production \
    APP=api \
    TEMPLATES_DIR=/app/templates \
    EVENT_STORE_PATH=/data/events.sqlite \
    METRICS_STORE_PATH=/data/metrics.sqlite
USER executor
CMD ["sh", "-c", "exec node \"dist/apps/${APP}/src/main.js\""]
