#!/bin/sh
# One-shot setup of the compose stack's CA (docker-compose.yml, service pki-init), run in the
# pinned openbao image. Idempotent: a second run keeps the CA and re-issues only what is needed.
#   - initialises the pki service once (recovery key and root token stay on the pki-setup volume,
#     readable only here; the CA unseals itself through the static seal)
#   - a root CA at pki/, an intermediate at pki_int/ (its chain carries the root), role `service`
#   - AppRole secdr-pki-renew with deploy/vault/policies/secdr-pki-renew.hcl (issue only); its
#     role-id and a fresh secret-id go to .secdr/ (docker secrets of secdr-worker)
#   - the root to the pki-public volume (the worker's trust store) and a 30-day certificate for
#     the tls-endpoint service to the tls-endpoint-certs volume
set -eu

# The paths are the compose mounts; the overrides let the script be tried against a local bao.
export BAO_ADDR="${BAO_ADDR:-http://pki:8200}"
SETUP="${PKI_INIT_SETUP:-/setup}"
OUT="${PKI_INIT_OUT:-/secdr-out}"
PUBLIC="${PKI_INIT_PUBLIC:-/public}"
CERTS="${PKI_INIT_CERTS:-/certs}"
POLICIES="${PKI_INIT_POLICIES:-/secdr/policies}"

# `bao status` exits 2 while sealed or uninitialised, 1 while unreachable.
until bao status >/dev/null 2>&1 || [ "$?" -eq 2 ]; do sleep 1; done

if ! bao status -format=json | grep -q '"initialized": true'; then
  umask 077
  bao operator init -recovery-shares=1 -recovery-threshold=1 -format=json >"$SETUP/init.json"
  umask 022
fi
until bao status >/dev/null 2>&1; do sleep 1; done # unsealed by the static seal
BAO_TOKEN=$(sed -n 's/.*"root_token": *"\([^"]*\)".*/\1/p' "$SETUP/init.json")
export BAO_TOKEN

# The role is written last: without it, set up from scratch (a run cut short leaves no half CA).
if ! bao read pki_int/roles/service >/dev/null 2>&1; then
  bao secrets disable pki_int
  bao secrets disable pki
  bao auth disable approle
  bao secrets enable -path=pki -max-lease-ttl=87600h pki
  bao write -field=certificate pki/root/generate/internal common_name="secdr compose root" ttl=87600h key_type=ec key_bits=256 >/dev/null
  bao secrets enable -path=pki_int -max-lease-ttl=43800h pki
  bao write -field=csr pki_int/intermediate/generate/internal common_name="secdr compose intermediate" key_type=ec key_bits=256 >/tmp/int.csr
  bao write -field=certificate pki/root/sign-intermediate csr=@/tmp/int.csr format=pem_bundle ttl=43800h >/tmp/int.pem
  echo >>/tmp/int.pem # -field output ends without a newline: keep the PEM blocks apart
  bao read -field=certificate pki/cert/ca >>/tmp/int.pem
  bao write pki_int/intermediate/set-signed certificate=@/tmp/int.pem
  bao policy write secdr-pki-renew "$POLICIES/secdr-pki-renew.hcl"
  bao auth enable approle
  bao write auth/approle/role/secdr-pki-renew token_policies=secdr-pki-renew token_ttl=5m secret_id_ttl=0
  bao write pki_int/roles/service allowed_domains=localhost,tls-endpoint allow_bare_domains=true allow_localhost=true \
    allow_ip_sans=true key_type=ec key_bits=256 max_ttl=2160h
fi

# `>` rewrites the files in place, so the running worker sees the new values.
bao read -field=role_id auth/approle/role/secdr-pki-renew/role-id >"$OUT/pki-role-id"
bao write -f -field=secret_id auth/approle/role/secdr-pki-renew/secret-id >"$OUT/pki-secret-id"
bao read -field=certificate pki/cert/ca >"$PUBLIC/root.pem"

# pem_bundle: key, leaf and chain in one file, which nginx reads as both certificate and key (its
# master process reads it as root, so the file stays 0600).
if [ ! -s "$CERTS/tls-endpoint.pem" ]; then
  umask 077
  bao write -field=certificate pki_int/issue/service common_name=tls-endpoint alt_names=localhost ttl=720h format=pem_bundle >"$CERTS/tls-endpoint.pem.new"
  mv "$CERTS/tls-endpoint.pem.new" "$CERTS/tls-endpoint.pem"
fi
touch "$SETUP/done"
