#!/usr/bin/env bash
# Corpus workload: the nginx-modules workload (every libnginx-mod-* module, the stock configuration's
# layout), analysed instead from one observed run of `nginx -t` on the stock /etc/nginx/nginx.conf, which
# loads every enabled module and checks the configuration: the modules it maps are analysed statically in
# full, with their closures.
ANALYZE_ARGS=(--observe -- -t)
NGINX_APP=nginx-observed
source "$(dirname "$0")/nginx-modules.sh"
