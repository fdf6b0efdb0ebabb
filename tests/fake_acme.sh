#!/usr/bin/env bash
# Let's Encrypt for the end-to-end tests, which run offline: installed as
# /etc/letsencrypt/acme.sh, it answers the calls WordOps' WOAcme makes (--list, --issue,
# --install-cert, --remove) as acme.sh does, with certificates signed by the test CA in
# $CA_DIR, which the test makes this machine trust. The reload command of --install-cert
# is not run: WordOps' is "service nginx restart", and our create reloads nginx itself.
set -euo pipefail
CA_DIR=/etc/letsencrypt/wo-mt-test-ca
RENEWAL=/etc/letsencrypt/renewal

domains=() action='' install=()
while (($#)); do
    case $1 in
        --config-home | --dns | -k | -w | --reloadcmd) shift ;;
        --list | --issue | --install-cert | --remove) action=$1 ;;
        -d) domains+=("$2"); shift ;;
        --cert-file | --key-file | --fullchain-file | --ca-file) install+=("$1" "$2"); shift ;;
    esac
    shift
done

main=${domains[0]:-}
dir=$RENEWAL/${main}_ecc
case $action in
    --list)
        echo 'Main_Domain|KeyLength|SAN_Domains|CA|Created|Renew'
        for d in "$RENEWAL"/*_ecc; do
            [[ -f $d/fullchain.cer ]] || continue
            name=$(basename "$d" _ecc)
            echo "$name|\"ec-384\"|www.$name|WoMtTestCA|$(date -u +%FT%TZ)|"
        done ;;
    --issue)
        mkdir -p "$dir"
        san=$(printf 'DNS:%s,' "${domains[@]}")
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes \
            -keyout "$dir/$main.key" -subj "/CN=$main" -out "$dir/$main.csr" 2>/dev/null
        openssl x509 -req -in "$dir/$main.csr" -CA "$CA_DIR/ca.crt" -CAkey "$CA_DIR/ca.key" \
            -CAcreateserial -days 2 -extfile <(echo "subjectAltName=${san%,}") \
            -out "$dir/$main.cer" 2>/dev/null
        cp "$CA_DIR/ca.crt" "$dir/ca.cer"
        cat "$dir/$main.cer" "$dir/ca.cer" >"$dir/fullchain.cer" ;;
    --install-cert)
        declare -A from=([--cert-file]=$main.cer [--key-file]=$main.key
                         [--fullchain-file]=fullchain.cer [--ca-file]=ca.cer)
        for ((i = 0; i < ${#install[@]}; i += 2)); do
            cp "$dir/${from[${install[i]}]}" "${install[i + 1]}"
        done ;;
    --remove) rm -rf "$dir" ;;
    *) echo "fake acme.sh: not built for: $action" >&2; exit 1 ;;
esac
