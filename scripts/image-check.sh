#!/usr/bin/env bash
# The container image without a container engine (none runs here): runs its build
# steps (deploy/container/build.sh) into target/image-root, checks the layout against
# the Dockerfile's paths, and smoke-tests the binary and site from there
# (scripts/smoke.sh). Not covered: the base images, `docker build` itself, multi-arch.
set -euo pipefail
cd "$(dirname "$0")/.."
root=target/image-root
deploy/container/build.sh "$root"
grep -q '^ENV LEPTOS_SITE_ROOT=/usr/share/wages/site$' deploy/container/Dockerfile
grep -q '^COPY --from=build /out/ /$' deploy/container/Dockerfile
grep -q '^ENTRYPOINT \["/usr/local/bin/wages"\]$' deploy/container/Dockerfile
scripts/smoke.sh "$root/usr/local/bin/wages" "$root/usr/share/wages/site"
