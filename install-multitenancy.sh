#!/usr/bin/env bash
# install-multitenancy.sh - install the `wo multitenancy` plugin into WordOps.
#
# With --stack it first builds a WordOps-compatible stack from the distribution's
# own packages (WordOps' apt repositories are not needed): nginx, PHP-FPM, MariaDB,
# Redis, WordOps 3.23.1 from PyPI, and WordOps' own nginx/PHP configuration.
#
# Idempotent: every run converges, upgrades the plugin and (re)starts the services,
# with or without systemd.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly REPO_DIR
readonly WO_VERSION="3.23.1"
readonly WO_VENV="/opt/wo"
readonly WO_PY="$WO_VENV/bin/python"
readonly PLUGIN_NAME="wordops-multitenancy"
readonly PLUGIN_CONF_SRC="$REPO_DIR/config/plugins.d/multitenancy.conf"
readonly PLUGIN_CONF_DST="/etc/wo/plugins.d/multitenancy.conf"
readonly PLUGIN_LOADER="/var/lib/wo/plugins/multitenancy.py"
readonly MYSQL_CNF="/etc/mysql/conf.d/my.cnf"
readonly MYSQL_SOCK="/run/mysqld/mysqld.sock"
readonly CONTROL_DIR="/var/lib/wo/multitenancy"   # our PHP-FPM pools' sockets, root's alone
readonly SOCKET_DIR="/var/lib/wo/multitenancy-sockets"  # sovereign sites' sockets
readonly SOCKET_GROUP="wo-multitenancy-web"       # the group of those sockets: nginx's alone
# Their page cache, pages/ in a directory only nginx's workers may enter: nginx gives
# a cache directory itself to its workers' user, www-data, which WordOps' PHP runs as.
readonly SOVEREIGN_CACHE="/var/lib/wo/multitenancy-cache"

WITH_STACK=0
PHP_VER="${PHP_VERSION:-}"   # X.Y; detected from the distribution when empty
PHP_SHORT=""                 # XY, as WordOps names its upstreams and sockets

export DEBIAN_FRONTEND=noninteractive

step() { printf '\033[1m[step]\033[0m %s\n' "$*"; }
info() { printf '       %s\n' "$*"; }
warn() { printf '\033[33m[warn]\033[0m %s\n' "$*" >&2; }
die()  { printf '\033[31m[error]\033[0m %s\n' "$*" >&2; exit 1; }

usage() {
    cat <<EOF
Usage: sudo $0 [--stack] [--help]

Installs (or upgrades) the 'wo multitenancy' plugin into WordOps' Python
environment ($WO_VENV) and enables it in $PLUGIN_CONF_DST.

  --stack   first install and configure a WordOps-compatible stack from the
            distribution's packages (Debian 12, Ubuntu 22.04/24.04):
            nginx-extras, PHP-FPM, MariaDB, Redis, WordOps $WO_VERSION (PyPI),
            WordOps' nginx and PHP-FPM configuration; then start the services.
  --help    show this help

Environment: PHP_VERSION=X.Y overrides the detected PHP version (--stack only).
Every run can be repeated: it converges and starts services that are not running.
EOF
}

parse_args() {
    while (($#)); do
        case "$1" in
            --stack) WITH_STACK=1 ;;
            -h|--help) usage; exit 0 ;;
            *) usage >&2; die "unknown argument: $1" ;;
        esac
        shift
    done
}

require_root() {
    [[ $EUID -eq 0 ]] || die "run as root (sudo $0)"
}

has_systemd() { [[ -d /run/systemd/system && "$(cat /proc/1/comm 2>/dev/null)" == systemd ]]; }

# Wait up to $1 seconds for the command that follows to succeed.
wait_until() {
    local timeout=$1; shift
    local i
    for ((i = 0; i < timeout * 4; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.25
    done
    return 1
}

# True when the pid file names a live (not zombie) process whose command is $2.
pid_alive() {
    local pidfile=$1 comm=$2 pid
    [[ -s $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm ]] || return 1
    [[ "$(</proc/"$pid"/comm)" == "$comm"* ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status"
}

# ---------------------------------------------------------------- stack --

check_distribution() {
    step "Checking the distribution"
    [[ -r /etc/os-release ]] || die "/etc/os-release missing: unsupported system"
    # shellcheck disable=SC1091
    . /etc/os-release
    case "${ID:-}:${VERSION_ID:-}" in
        debian:12|ubuntu:22.04|ubuntu:24.04) info "$PRETTY_NAME" ;;
        *) warn "untested distribution ${PRETTY_NAME:-unknown}: continuing" ;;
    esac
}

apt_lists_present() { compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; }

APT_UPDATED=0
apt_update_once() {
    ((APT_UPDATED)) && return 0
    info "apt-get update"
    apt-get update -qq
    APT_UPDATED=1
}

# The distribution's PHP is what its php-fpm metapackage depends on.
php_version_from_apt() {
    apt-cache depends php-fpm 2>/dev/null | sed -n 's/^ *Depends: php\([0-9]\+\.[0-9]\+\)-fpm$/\1/p' | head -n1
}

detect_php_version() {
    step "Detecting the distribution's PHP version"
    if [[ -z $PHP_VER ]]; then
        apt_lists_present || apt_update_once
        PHP_VER=$(php_version_from_apt)
        if [[ -z $PHP_VER ]]; then
            apt_update_once
            PHP_VER=$(php_version_from_apt)
        fi
    fi
    [[ $PHP_VER =~ ^[0-9]+\.[0-9]+$ ]] || die "cannot detect the PHP version (set PHP_VERSION=X.Y)"
    PHP_SHORT=${PHP_VER/./}
    info "PHP $PHP_VER (WordOps upstream php$PHP_SHORT)"
}

stack_packages() {
    local p=php$PHP_VER
    printf '%s\n' nginx-extras libnginx-mod-http-cache-purge libnginx-mod-http-srcache-filter \
        libnginx-mod-http-set-misc libnginx-mod-http-memc \
        "$p-fpm" "$p-cli" "$p-mysql" "$p-curl" "$p-gd" "$p-mbstring" "$p-xml" "$p-zip" \
        "$p-intl" "$p-redis" "$p-opcache" \
        mariadb-server mariadb-client redis-server curl unzip openssl python3-venv python3-apt git util-linux \
        cron restic
}

is_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

install_packages() {
    step "Installing distribution packages"
    local pkg missing=()
    while read -r pkg; do
        is_installed "$pkg" || missing+=("$pkg")
    done < <(stack_packages)
    if ((${#missing[@]} == 0)); then
        info "all packages already installed"
        return 0
    fi
    info "installing: ${missing[*]}"
    apt_lists_present || apt_update_once
    # Keep configuration files WordOps has rewritten (e.g. pool.d/www.conf) on upgrades.
    local apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
    if ! apt-get install "${apt_opts[@]}" "${missing[@]}"; then
        apt_update_once
        apt-get install "${apt_opts[@]}" "${missing[@]}"
    fi
}

# Importing wo.core.variables asks for a git name/e-mail on stdin when they are missing.
configure_git_identity() {
    step "Configuring a git identity for root (WordOps versions /etc with git)"
    local cfg
    for cfg in /root/.gitconfig "${HOME:-/root}/.gitconfig"; do
        git config --file "$cfg" user.name >/dev/null 2>&1 ||
            git config --file "$cfg" user.name "WordOps"
        git config --file "$cfg" user.email >/dev/null 2>&1 ||
            git config --file "$cfg" user.email "root@$(hostname -f 2>/dev/null || hostname)"
    done
}

copy_missing_files() {
    local src=$1 dst=$2 f
    while IFS= read -r -d '' f; do
        [[ -e $dst/$f ]] || install -D -m 644 "$src/$f" "$dst/$f"
    done < <(cd "$src" && find . -type f -print0)
}

# Same layout as WordOps' own installer: a venv that sees python3-apt, data files
# copied from the wheel into /etc and /usr, and `wo` on the PATH.
install_wordops() {
    step "Installing WordOps $WO_VERSION into $WO_VENV"
    [[ -x $WO_PY ]] || /usr/bin/python3 -m venv --system-site-packages "$WO_VENV"
    "$WO_VENV/bin/pip" install -q "wordops==$WO_VERSION"

    local data
    data=$("$WO_PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    [[ -d $data/etc/wo ]] || data=$WO_VENV   # older pips put wheel data under the prefix
    [[ -d $data/etc/wo && -d $data/usr/lib/wo ]] || die "WordOps data files not found in $data"
    copy_missing_files "$data/etc" /etc    # keep an existing, possibly edited, wo.conf
    cp -rf "$data/usr/." /usr/
    ln -sfn "$WO_VENV/bin/wo" /usr/local/bin/wo
    install -d -m 755 /var/log/wo /var/lib/wo

    (cd / && wo --help >/dev/null </dev/null) || die "'wo --help' fails"
    (cd / && wo site list >/dev/null </dev/null) || die "'wo site list' fails"
    info "wo --help and wo site list work ($(wo -v </dev/null 2>&1 | head -n1))"
}

# Digest of a configuration tree, to reload a daemon only when its files changed.
config_digest() {
    find "$@" -type f ! -path '*/.git/*' -print0 2>/dev/null | sort -z | xargs -0 cat 2>/dev/null | md5sum
}

PHP_DIGEST_BEFORE=""
# WordOps' post_pref writes nginx.conf, conf.d/*, common/* (every PHP version),
# sites-available/22222, php.ini (OPcache values) and the two pools per PHP version.
run_wordops_post_pref() {
    step "Writing WordOps' nginx and PHP-FPM $PHP_VER configuration (stack_pref.post_pref)"
    PHP_DIGEST_BEFORE=$(config_digest "/etc/php/$PHP_VER/fpm")
    install -d /var/www/html/.well-known
    # stdin is the script itself: an interactive prompt would read EOF, not hang.
    (cd / && "$WO_PY" - "$PHP_VER") <<'PY'
import sys
from wo.cli.main import WOApp
from wo.core.git import WOGit
from wo.core.services import WOService
from wo.core.variables import WOVar
from wo.cli.plugins import stack_pref

# The installer starts and reloads the daemons itself. WordOps' own service calls
# fail here (nginx -t fails until the installer adapts nginx.conf) and on failure
# WordOps git-stashes the configuration it has just written.
for name in ('start_service', 'stop_service', 'restart_service', 'reload_service'):
    setattr(WOService, name, lambda self, service_name: True)
WOGit.rollback = lambda self, paths, msg='': None

class Controller:
    def __init__(self, app):
        self.app, self.msg = app, []

app = WOApp(argv=[])
app.setup()
stack_pref.post_pref(Controller(app), WOVar.wo_nginx + ['php%s-fpm' % sys.argv[1]], [])
app.close()
PY
    echo
    info "(a message about xdebug.ini is harmless: xdebug is not installed)"
}

# Debian/Ubuntu nginx lacks modules of WordOps' own nginx build. Each edit is a
# no-op the second time (commented lines no longer match).
# shellcheck disable=SC2016  # $http3 is nginx's variable, not the shell's
adapt_nginx_to_distribution() {
    step "Adapting WordOps' nginx configuration to the distribution's nginx"
    local conf=/etc/nginx/nginx.conf files
    grep -q '^include /etc/nginx/modules-enabled/\*\.conf;' "$conf" ||
        sed -i '1i include /etc/nginx/modules-enabled/*.conf;' "$conf"
    mapfile -t files < <(grep -rlE '^\s*(vhost_traffic_status_|ssl_dyn_rec_|http2 on;)|\$http3' \
        /etc/nginx --exclude-dir=.git || true)
    if ((${#files[@]})); then
        info "adjusting: ${files[*]}"
        sed -i -E \
            -e 's/^(\s*)(vhost_traffic_status_|ssl_dyn_rec_|http2 on;)/\1# \2/' \
            -e 's/ "\$http3"//' \
            "${files[@]}"
    fi
    # nginx-extras' nchan module, which nothing of WordOps' uses, crashes the workers of a
    # master reloaded a few hundred times (nchan_store_init_worker: procslot_found), as
    # one creating or deleting hundreds of sites is: not loaded (takes effect on a start).
    if [[ -e /etc/nginx/modules-enabled/50-mod-nchan.conf ]]; then
        rm -f /etc/nginx/modules-enabled/50-mod-nchan.conf
        info "nchan module no longer loaded"
    fi
    # Its Lua module makes every `nginx -t` and reload 7x slower (3.3 s against 0.45 s
    # with 150 WordOps vhosts): before openresty/lua-nginx-module#2196 it creates a TLS
    # context in each location. WordOps' own nginx has no Lua; kept when one is used.
    if [[ -e /etc/nginx/modules-enabled/50-mod-http-lua.conf ]] &&
        ! grep -rqE '^\s*(lua_|[a-z_]+_by_lua)' /etc/nginx --exclude-dir=modules-enabled; then
        rm -f /etc/nginx/modules-enabled/50-mod-http-lua.conf
        info "Lua module no longer loaded"
    fi
    [[ -f /etc/nginx/common/php$PHP_SHORT.conf && -f /etc/nginx/common/wpcommon-php$PHP_SHORT.conf &&
       -f /etc/nginx/common/wpfc-php$PHP_SHORT.conf && -f /etc/nginx/common/locations-wo.conf ]] ||
        die "WordOps' nginx includes for php$PHP_SHORT are missing in /etc/nginx/common"
    grep -q "^upstream php$PHP_SHORT " /etc/nginx/conf.d/upstream.conf ||
        die "upstream php$PHP_SHORT missing in /etc/nginx/conf.d/upstream.conf"
    nginx_test || die "nginx -t fails after the adjustments"
}

# /run is empty after a boot without systemd (no tmpfiles.d): php-fpm -t already
# needs the pools' prefix /var/run/php.
create_runtime_dirs() {
    step "Creating runtime directories in /run"
    install -d -o www-data -g www-data -m 755 /run/php
    install -d -o mysql -g mysql -m 755 /run/mysqld
    install -d -o redis -g redis -m 2775 /run/redis
}

check_php_fpm_config() {
    step "Checking PHP-FPM $PHP_VER pools"
    local pool=/etc/php/$PHP_VER/fpm/pool.d
    [[ -f $pool/www.conf && -f $pool/www-two.conf ]] || die "WordOps' pools missing in $pool"
    grep -q "^listen = php$PHP_SHORT-fpm.sock" "$pool/www.conf" ||
        die "$pool/www.conf is not WordOps' www-php$PHP_SHORT pool"
    "php-fpm$PHP_VER" -t >/dev/null 2>&1 || { "php-fpm$PHP_VER" -t; die "php-fpm$PHP_VER -t fails"; }
    info "pools www-php$PHP_SHORT, www-two-php$PHP_SHORT, debug ($(grep -h '^pm = ' "$pool/www.conf"))"
}

# -------------------------------------------------------------- services --
# Without systemd each daemon is started directly, unless it already answers.
# Their stdio is kept away from ours: a daemon holding the caller's pipe makes
# `install-multitenancy.sh | tail` (or a CI log capture) hang.

# NOAUTH: the server answers, it just has a password set.
redis_up() { redis-cli ping 2>&1 | grep -qE 'PONG|NOAUTH'; }

start_redis() {
    step "Starting Redis"
    if has_systemd; then
        systemctl enable --now redis-server
    elif redis_up; then
        info "already running"
    else
        info "not running: starting"
        start-stop-daemon --start --quiet --oknodo --umask 007 --chuid redis:redis \
            --pidfile /run/redis/redis-server.pid --exec /usr/bin/redis-server -- \
            /etc/redis/redis.conf --daemonize yes </dev/null >/dev/null
    fi
    wait_until 30 redis_up || die "Redis does not answer PING"
    info "redis answers PONG"
}

mysqladmin_bin() { command -v mariadb-admin || command -v mysqladmin; }

# ping succeeds as soon as the server answers, whatever the credentials.
mariadb_up() { "$(mysqladmin_bin)" --no-defaults --socket="$MYSQL_SOCK" --connect-timeout=2 ping; }

start_mariadb() {
    step "Starting MariaDB"
    if has_systemd; then
        systemctl enable --now mariadb
    elif mariadb_up >/dev/null 2>&1; then
        info "already running"
    else
        info "not running: starting"
        [[ -d /var/lib/mysql/mysql ]] ||
            mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
        install -d -o mysql -g adm -m 2750 /var/log/mysql
        start-stop-daemon --start --background --output /var/log/mysql/error.log \
            --exec /usr/sbin/mariadbd -- --user=mysql
    fi
    wait_until 60 mariadb_up || die "MariaDB does not answer on $MYSQL_SOCK"
    info "mariadb answers on $MYSQL_SOCK"
}

wo_mysql_works() {
    "$WO_PY" - <<'PY' >/dev/null 2>&1
import pymysql
c = pymysql.connect(read_default_file='/etc/mysql/conf.d/my.cnf')
c.cursor().execute('SELECT 1')
PY
}

# As WordOps' stack install: root keeps its unix-socket login and gets a password
# in /etc/mysql/conf.d/my.cnf ([client], mode 600), which WOMysql reads.
configure_mariadb_access() {
    step "Configuring WordOps' MySQL access ($MYSQL_CNF)"
    if [[ -f $MYSQL_CNF ]] && wo_mysql_works; then
        chmod 600 "$MYSQL_CNF"
        info "root access via $MYSQL_CNF already works"
        return 0
    fi
    local password=""
    [[ -f $MYSQL_CNF ]] && password=$(sed -n 's/^ *password *= *//p' "$MYSQL_CNF" | head -n1)
    [[ -n $password ]] || password=$(/usr/bin/python3 -c \
        'import secrets, string; print("".join(secrets.choice(string.ascii_letters) for _ in range(24)))')
    # On stdin, not in argv: arguments are visible to every user in ps.
    mariadb --no-defaults --socket="$MYSQL_SOCK" -u root <<<"ALTER USER root@localhost \
IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('$password'); FLUSH PRIVILEGES;"
    install -d /etc/mysql/conf.d
    (umask 077 && cat >"$MYSQL_CNF" <<EOF
[client]
user = root
password = $password
socket = $MYSQL_SOCK
EOF
    )
    chmod 600 "$MYSQL_CNF"
    wo_mysql_works || die "pymysql cannot log in with $MYSQL_CNF"
    info "root password written to $MYSQL_CNF (mode 600)"
}

socket_answers() {
    /usr/bin/python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$1"
}

php_sockets_up() {
    socket_answers "/run/php/php$PHP_SHORT-fpm.sock" && socket_answers "/run/php/php$PHP_SHORT-two-fpm.sock"
}

start_php_fpm() {
    step "Starting PHP-FPM $PHP_VER"
    local pidfile="/run/php/php$PHP_VER-fpm.pid" changed=0
    [[ "$(config_digest "/etc/php/$PHP_VER/fpm")" == "$PHP_DIGEST_BEFORE" ]] || changed=1
    if has_systemd; then
        systemctl enable "php$PHP_VER-fpm"
        if ((changed)); then systemctl restart "php$PHP_VER-fpm"; else systemctl start "php$PHP_VER-fpm"; fi
    elif pid_alive "$pidfile" php-fpm; then
        if ((changed)) || ! php_sockets_up >/dev/null 2>&1; then
            info "configuration changed: graceful reload (USR2)"
            kill -USR2 "$(<"$pidfile")"
            sleep 1
        else
            info "already running, configuration unchanged"
        fi
    else
        info "not running: starting"
        "/usr/sbin/php-fpm$PHP_VER" --daemonize --fpm-config "/etc/php/$PHP_VER/fpm/php-fpm.conf" \
            </dev/null >/dev/null
    fi
    wait_until 30 php_sockets_up || die "PHP-FPM sockets php$PHP_SHORT-fpm.sock / php$PHP_SHORT-two-fpm.sock do not answer"
    info "/run/php/php$PHP_SHORT-fpm.sock and /run/php/php$PHP_SHORT-two-fpm.sock answer"
}

# Quiet on success (nchan logs its shared memory at [info]); full output on failure.
nginx_test() { nginx -t -q >/dev/null 2>&1 || { nginx -t; return 1; }; }

# WordOps' stub_status server owns 127.0.0.1:80 and answers /nginx_status.
nginx_up() { [[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/nginx_status)" == 200 ]]; }

start_nginx() {
    step "Starting nginx"
    nginx_test || die "nginx -t fails"
    if has_systemd; then
        systemctl enable nginx
        systemctl reload-or-restart nginx
    elif pid_alive /run/nginx.pid nginx; then
        info "already running: reload"
        nginx -s reload 2>/dev/null
    else
        info "not running: starting"
        nginx </dev/null >/dev/null 2>>/var/log/nginx/error.log
    fi
    wait_until 30 nginx_up || die "nginx does not answer on http://127.0.0.1/nginx_status"
    info "nginx answers (sites: curl -H 'Host: SITE' http://127.0.0.2/)"
}

# --------------------------------------------------------------- plugin --

require_wordops() {
    if ! [[ -x $WO_PY ]] || ! "$WO_PY" -c 'import wo.cli.main' 2>/dev/null || ! command -v wo >/dev/null; then
        die "WordOps is not installed (no $WO_VENV with the 'wo' package, or no 'wo' on PATH).
        Install WordOps first, or run: sudo $0 --stack"
    fi
}

# --no-deps: pip must never touch WordOps' pinned dependencies.
install_plugin() {
    step "Installing the plugin ($PLUGIN_NAME) from $REPO_DIR into $WO_VENV"
    [[ -f $REPO_DIR/setup.py ]] || die "setup.py not found in $REPO_DIR"
    # pip builds in-tree and setuptools never cleans build/lib: a module deleted from
    # the source would still be packaged from there.
    rm -rf "$REPO_DIR/build"
    "$WO_VENV/bin/pip" install -q --upgrade --no-deps "$REPO_DIR"
    "$WO_PY" -c 'import pystache, requests, dateutil' 2>/dev/null ||
        "$WO_VENV/bin/pip" install -q pystache requests python-dateutil
    info "$("$WO_VENV/bin/pip" show "$PLUGIN_NAME" 2>/dev/null | grep -E '^Version' || echo 'installed')"
}

# New file: copy it. Existing file: keep the user's values, add only the keys the
# shipped file has and the installed one lacks (at the end of its first section).
# The shipped php_version (the seed's 8.3) may not be installed here: a first install
# starts from the newest PHP-FPM the server has, so `create` works without --phpXY.
adopt_installed_php_version() {
    local shipped newest
    shipped=$(sed -n 's/^php_version *= *//p' "$PLUGIN_CONF_DST")
    newest=$(find /usr/sbin -maxdepth 1 -name 'php-fpm[0-9]*' -printf '%f\n' | sed 's/php-fpm//' | sort -V | tail -n 1)
    if [[ -n $newest && ! -x /usr/sbin/php-fpm$shipped ]]; then
        sed -i "s/^php_version *=.*/php_version = $newest/" "$PLUGIN_CONF_DST"
        info "php_version = $newest (PHP $shipped is not installed)"
    fi
}

install_plugin_config() {
    step "Installing the plugin configuration ($PLUGIN_CONF_DST)"
    [[ -f $PLUGIN_CONF_SRC ]] || die "$PLUGIN_CONF_SRC missing"
    install -d /etc/wo/plugins.d
    if [[ ! -f $PLUGIN_CONF_DST ]]; then
        install -m 644 "$PLUGIN_CONF_SRC" "$PLUGIN_CONF_DST"
        adopt_installed_php_version
        info "installed"
        return 0
    fi
    /usr/bin/python3 - "$PLUGIN_CONF_SRC" "$PLUGIN_CONF_DST" <<'PY'
import re, sys
src, dst = sys.argv[1], sys.argv[2]
key = re.compile(r'^\s*([A-Za-z0-9_.-]+)\s*=')
have = {m.group(1) for m in map(key.match, open(dst)) if m}
new = [l.rstrip('\n') for l in open(src) if (m := key.match(l)) and m.group(1) not in have]
if not new:
    print('       up to date, user values kept')
    sys.exit()
lines = open(dst).read().splitlines()
sections = [i for i, l in enumerate(lines) if l.lstrip().startswith('[')]
end = sections[1] if len(sections) > 1 else len(lines)
while end > 0 and not lines[end - 1].strip():
    end -= 1
lines[end:end] = ['', '# Added by install-multitenancy.sh (new settings)'] + new
open(dst, 'w').write('\n'.join(lines) + '\n')
print('       added: ' + ', '.join(key.match(l).group(1) for l in new))
PY
}

# cement loads /var/lib/wo/plugins/NAME.py before wo.cli.plugins.NAME. Without this
# loader, `pip uninstall wordops-multitenancy` leaves an enabled plugin whose module
# is gone, and every `wo` command dies with ModuleNotFoundError.
install_plugin_loader() {
    step "Installing the plugin loader ($PLUGIN_LOADER)"
    install -d /var/lib/wo/plugins
    install -m 0644 "$REPO_DIR/config/plugins/multitenancy.py" "$PLUGIN_LOADER.tmp"
    mv -f "$PLUGIN_LOADER.tmp" "$PLUGIN_LOADER"
}

# Every PHP-FPM gets a pool of ours, for the requests wo multitenancy itself sends
# (dropping a release from OPcache). Under load a new connection to a site pool waits in
# its listen queue while nginx keeps every worker busy on kept-alive connections; ours
# has its own queue, and its socket, in a directory only root may write, only root can
# reach. It runs before the sites' workers (process.priority): what it does -- compiling
# a new release into OPcache once for everyone -- is done sooner. Its one worker is
# static: with `ondemand`, a request that arrived as the idle worker was exiting waited
# (the master, at max_children, forks on no later event) until our 15 s deadline -- seen
# in the tests, a few seconds past pm.process_idle_timeout after the last request. A
# PHP-FPM whose pool file changed is reloaded once (a reload resets the connections it is
# serving: do it when the server is quiet).
control_pool() {
    local version=$1 short=${1/./}
    cat <<EOF
; wo multitenancy: its own requests to PHP-FPM $version (written by install-multitenancy.sh)
[wo-multitenancy]
user = www-data
group = www-data
listen = $CONTROL_DIR/php$short-fpm.sock
listen.owner = root
listen.group = root
listen.mode = 0600
pm = static
pm.max_children = 1
process.priority = -10
request_terminate_timeout = 60s
chdir = /
EOF
}

reload_php_fpm() {
    local version=$1 pidfile="/run/php/php$1-fpm.pid"
    if has_systemd; then
        systemctl reload "php$version-fpm"
    elif pid_alive "$pidfile" php-fpm; then
        kill -USR2 "$(<"$pidfile")"
    fi
}

# A pool file PHP-FPM refuses would stop it from starting: put the old one back.
write_pool_or_restore() {
    local version=$1 pool=$2 saved=""
    [[ -f $pool ]] && { saved=$(mktemp); cp -p "$pool" "$saved"; }
    control_pool "$version" >"$pool.tmp" && mv -f "$pool.tmp" "$pool"
    if ! "php-fpm$version" -t >/dev/null 2>&1; then
        "php-fpm$version" -t || true
        if [[ -n $saved ]]; then mv -f "$saved" "$pool"; else rm -f "$pool"; fi
        die "php-fpm$version -t fails with the new $pool (the previous state is back)"
    fi
    [[ -z $saved ]] || rm -f "$saved"
}

install_control_pools() {
    step "Installing wo multitenancy's own PHP-FPM pool ($CONTROL_DIR)"
    install -d -o root -g root -m 700 "$CONTROL_DIR"
    local fpm version pool found=0
    for fpm in /usr/sbin/php-fpm[0-9]*; do
        version=${fpm#/usr/sbin/php-fpm}
        pool=/etc/php/$version/fpm/pool.d/wo-multitenancy.conf
        [[ -x $fpm && -d ${pool%/*} ]] || continue
        found=1
        if [[ -f $pool ]] && cmp -s "$pool" <(control_pool "$version"); then
            info "PHP $version: up to date"
        else
            write_pool_or_restore "$version" "$pool"
            info "PHP $version: pool written; reloading PHP-FPM $version"
            reload_php_fpm "$version"
        fi
        if pid_alive "/run/php/php$version-fpm.pid" php-fpm; then
            wait_until 30 socket_answers "$CONTROL_DIR/php${version/./}-fpm.sock" ||
                die "PHP-FPM $version does not answer on $CONTROL_DIR/php${version/./}-fpm.sock"
        fi
    done
    ((found)) || warn "no PHP-FPM found: install one (wo stack install --php82), then run this again"
}

# Sovereign sites (docs/architecture.md, "Sovereign sites") run in a PHP-FPM of our
# own, next to WordOps' one: adding or removing a site's pool reloads a PHP-FPM, and a
# reload of WordOps' PHP-FPM gives WordOps' sites thousands of 502s. It has a pool of
# ours too, and its own pid file and log; its sites' pools are files in
# wo-multitenancy.d/, written by `wo multitenancy create`. All pools of one PHP-FPM
# share one OPcache: with opcache.validate_permission a cached script is served only
# to a pool that may read its file (in both PHP-FPMs: they read the same php.ini).
sovereign_fpm_conf() {
    local version=$1 short=${1/./}
    cat <<EOF
; wo multitenancy: the PHP-FPM of its sovereign sites (written by install-multitenancy.sh)
[global]
pid = $CONTROL_DIR/php$version-fpm.pid
error_log = /var/log/php$version-fpm-wo-multitenancy.log
process_control_timeout = 10s
include = /etc/php/$version/fpm/wo-multitenancy.d/*.conf

EOF
    control_pool "$version" | sed -e "s|php$short-fpm.sock|php$short-sovereign.sock|" \
        -e "\$a php_admin_value[opcache.restrict_api] = $PLUGIN_PHP_DIR/opcache.php"
}

opcache_ini() {
    cat <<EOF
; wo multitenancy (written by install-multitenancy.sh): all pools of a PHP-FPM share one
; OPcache; a cached script is served only to a pool that may read its file.
opcache.validate_permission = 1
EOF
}

sovereign_unit() {
    local version=$1
    cat <<EOF
[Unit]
Description=PHP $version FastCGI of wo multitenancy's sovereign sites
After=network.target

[Service]
Type=notify
ExecStart=/usr/sbin/php-fpm$version --nodaemonize --fpm-config /etc/php/$version/fpm/wo-multitenancy-fpm.conf
ExecReload=/bin/kill -USR2 \$MAINPID

[Install]
WantedBy=multi-user.target
EOF
}

# Write file $1 from the output of the command that follows, when it differs; true
# when written.
write_if_changed() {
    local file=$1; shift
    if [[ -f $file ]] && cmp -s "$file" <("$@"); then return 1; fi
    "$@" >"$file.tmp" && mv -f "$file.tmp" "$file"
}

start_sovereign_fpm() {
    local version=$1 changed=$2 short=${1/./}
    local pidfile=$CONTROL_DIR/php$1-fpm.pid unit=wo-multitenancy-php$1-fpm
    if has_systemd; then
        write_if_changed "/etc/systemd/system/$unit.service" sovereign_unit "$version" &&
            systemctl daemon-reload
        systemctl enable "$unit"
        if ((changed)); then systemctl restart "$unit"; else systemctl start "$unit"; fi
    elif pid_alive "$pidfile" php-fpm; then
        if ((changed)); then kill -USR2 "$(<"$pidfile")"; sleep 1; fi
    else
        "/usr/sbin/php-fpm$version" --daemonize \
            --fpm-config "/etc/php/$version/fpm/wo-multitenancy-fpm.conf" </dev/null >/dev/null
    fi
    wait_until 30 socket_answers "$CONTROL_DIR/php$short-sovereign.sock" ||
        die "the sovereign PHP-FPM $version does not answer on $CONTROL_DIR/php$short-sovereign.sock"
}

install_sovereign_fpm() {
    step "Installing the PHP-FPM of sovereign sites (sockets in $SOCKET_DIR)"
    getent group "$SOCKET_GROUP" >/dev/null || groupadd --system "$SOCKET_GROUP"
    install -d -o root -g root -m 755 "$SOCKET_DIR"
    PLUGIN_PHP_DIR=$(cd / && "$WO_PY" -c 'import os, wo.multitenancy as m; print(os.path.join(os.path.dirname(m.__file__), "php"))')
    local fpm version conf changed
    for fpm in /usr/sbin/php-fpm[0-9]*; do
        version=${fpm#/usr/sbin/php-fpm}
        [[ -x $fpm && -d /etc/php/$version/fpm/conf.d ]] || continue
        if write_if_changed "/etc/php/$version/fpm/conf.d/99-wo-multitenancy.ini" opcache_ini; then
            info "PHP $version: opcache.validate_permission on; reloading PHP-FPM $version"
            reload_php_fpm "$version"
        fi
        install -d -m 755 "/etc/php/$version/fpm/wo-multitenancy.d"
        conf=/etc/php/$version/fpm/wo-multitenancy-fpm.conf
        changed=0
        write_if_changed "$conf" sovereign_fpm_conf "$version" && changed=1
        "php-fpm$version" -t --fpm-config "$conf" >/dev/null 2>&1 ||
            { "php-fpm$version" -t --fpm-config "$conf" || true; die "php-fpm$version -t fails with $conf"; }
        start_sovereign_fpm "$version" "$changed"
        info "PHP $version: answers on $CONTROL_DIR/php${version/./}-sovereign.sock"
    done
}

# A PHP-FPM pool on TCP takes requests from every local user: through WordOps' debug
# pool (127.0.0.1:9182, www-data, not even reached by WordOps' nginx: its upstream
# names another port) a sovereign site could run PHP as www-data, with settings of its
# choosing. It listens on a unix socket in /run/php (www-data's 0660) instead.
close_tcp_pools() {
    step "Moving PHP-FPM pools off TCP"
    local conf version name moved=0
    for conf in /etc/php/*/fpm/pool.d/*.conf; do
        [[ -f $conf ]] || continue
        grep -qE '^listen[[:space:]]*=[[:space:]]*([^/[:space:]]*:)?[0-9]+[[:space:]]*$' "$conf" || continue
        version=${conf#/etc/php/}; version=${version%%/*}; name=$(basename "$conf" .conf)
        sed -i -E "s|^listen[[:space:]]*=.*|listen = /run/php/php${version/./}-$name.sock|" "$conf"
        "php-fpm$version" -t >/dev/null 2>&1 || { "php-fpm$version" -t || true; die "php-fpm$version -t fails after moving $conf off TCP"; }
        info "$conf: listen = /run/php/php${version/./}-$name.sock"
        reload_php_fpm "$version"
        moved=1
    done
    ((moved)) || info "none listens on TCP"
}

sovereign_cache_conf() {
    cat <<EOF
# wo multitenancy (written by install-multitenancy.sh): the page cache of sovereign
# sites. WordOps' own (zone WORDPRESS) is www-data's, which WordOps' PHP runs as.
fastcgi_cache_path $SOVEREIGN_CACHE/pages levels=1:2 keys_zone=WO_MT_SOVEREIGN:50m inactive=6h max_size=256M;
EOF
}

# nginx alone may connect to a sovereign site's socket (whoever can, runs code as that
# site, with PHP settings of its choosing), or reach their page cache (whoever can,
# serves pages in their name): both are $SOCKET_GROUP's, and that group is nginx's
# workers' (`user www-data $SOCKET_GROUP;`), not WordOps' PHP's, which runs as www-data
# too. www-data is put in its own group in /etc/group: nginx's workers then keep it.
# WordOps rewrites nginx.conf (wo stack upgrade): this script sets the line again, and
# `wo multitenancy verify` fails a sovereign site while it is missing.
configure_nginx_for_sovereign_sites() {
    step "Giving nginx's workers the group of sovereign sites ($SOCKET_GROUP) and their page cache"
    getent group www-data | cut -d: -f4 | tr , '\n' | grep -qx www-data ||
        gpasswd -a www-data www-data >/dev/null
    install -d -o root -g "$SOCKET_GROUP" -m 750 "$SOVEREIGN_CACHE"
    local changed=0
    write_if_changed /etc/nginx/conf.d/wo-multitenancy-cache.conf sovereign_cache_conf && changed=1
    if ! grep -qE "^user www-data $SOCKET_GROUP;" /etc/nginx/nginx.conf; then
        sed -i -E "s/^user[[:space:]]+www-data[[:space:]]*;/user www-data $SOCKET_GROUP;/" /etc/nginx/nginx.conf
        grep -qE "^user www-data $SOCKET_GROUP;" /etc/nginx/nginx.conf ||
            die "/etc/nginx/nginx.conf has no 'user www-data;' line to give the group to"
        changed=1
    fi
    if ((changed)); then
        nginx_test || die "nginx -t fails with wo multitenancy's user line or page cache"
        if has_systemd; then systemctl reload nginx; elif pid_alive /run/nginx.pid nginx; then nginx -s reload; fi
    fi
    info "user www-data $SOCKET_GROUP; page cache in $SOVEREIGN_CACHE/pages"
}

# nginx's workers run as www-data, as WordOps' PHP does, and make themselves dumpable:
# with ptrace open to a process of the same user, a shared site's PHP could take over a
# worker, which may connect to every sovereign site's socket. Yama's ptrace_scope 1
# allows ptrace of one's own descendants only. Kernels without Yama: see
# docs/architecture.md ("What stays shared").
restrict_ptrace() {
    step "Restricting ptrace to a process's own descendants (kernel.yama.ptrace_scope)"
    if [[ ! -e /proc/sys/kernel/yama/ptrace_scope ]]; then
        warn "this kernel has no Yama: ptrace between processes of one user stays open"
        return 0
    fi
    printf '# wo multitenancy (install-multitenancy.sh)\nkernel.yama.ptrace_scope = 1\n' \
        >/etc/sysctl.d/60-wo-multitenancy.conf
    if [[ "$(cat /proc/sys/kernel/yama/ptrace_scope)" == 0 ]]; then
        sysctl -q -w kernel.yama.ptrace_scope=1 || warn "could not set kernel.yama.ptrace_scope"
    fi
    info "kernel.yama.ptrace_scope = $(cat /proc/sys/kernel/yama/ptrace_scope)"
}

# WordOps' database holds every site's database password (sites.db_password) and is
# 0644 as WordOps makes it: root's alone (every wo multitenancy command checks it too).
restrict_wordops_database() {
    [[ -f /var/lib/wo/dbase.db ]] && chmod 600 /var/lib/wo/dbase.db
    return 0
}

plugin_enabled() {
    /usr/bin/python3 - "$PLUGIN_CONF_DST" <<'PY'
import configparser, sys
c = configparser.ConfigParser(strict=False)
c.read(sys.argv[1])
first = c.sections()[0] if c.sections() else None
sys.exit(0 if first and c.getboolean(first, 'enable_plugin', fallback=False) else 1)
PY
}

# `wo UNKNOWN --help` prints WordOps' own help and exits 0: the plugin's help must differ.
verify_plugin() {
    step "Checking 'wo multitenancy --help'"
    (cd / && "$WO_PY" -c 'import wo.cli.plugins.multitenancy') || die "the plugin module does not import"
    if ! plugin_enabled; then
        warn "enable_plugin is not true in $PLUGIN_CONF_DST: 'wo multitenancy' stays disabled"
        return 0
    fi
    local top mt
    top=$(cd / && wo --help </dev/null 2>&1) || die "'wo --help' fails"
    mt=$(cd / && wo multitenancy --help </dev/null 2>&1) || die "'wo multitenancy --help' fails"
    [[ $mt != "$top" ]] || die "'wo multitenancy' is not loaded (wo shows its own help)"
    info "ok"
}

# The sites' WP-Cron events, run every minute by the system (wo multitenancy cron);
# while it runs, page views leave WP-Cron alone (the MU-plugin wo-system-cron.php).
CRON_FILE=/etc/cron.d/wo-multitenancy-wp-cron

cron_up() { pgrep -x cron >/dev/null; }

install_system_cron() {
    step "Running the sites' WP-Cron from the system cron ($CRON_FILE)"
    local line="* * * * * root $(command -v wo) multitenancy cron --run" text
    text=$(printf '# wo multitenancy (its installer rewrites this file): the due WP-Cron events of\n# every site, each at its own second of the minute\n%s' "$line")
    if [[ "$(cat "$CRON_FILE" 2>/dev/null)" != "$text" ]]; then
        printf '%s\n' "$text" >"$CRON_FILE.tmp"
        chmod 0644 "$CRON_FILE.tmp"
        mv -f "$CRON_FILE.tmp" "$CRON_FILE"
    fi
    if ! command -v cron >/dev/null; then
        warn "no cron daemon (package cron): the sites keep running WP-Cron on page views"
        return 0
    fi
    if has_systemd; then
        systemctl enable --now cron
    elif ! cron_up; then
        info "cron not running: starting"
        start-stop-daemon --start --quiet --oknodo --exec "$(command -v cron)" </dev/null >/dev/null
    fi
    wait_until 10 cron_up || warn "the cron daemon does not run: the sites keep running WP-Cron"
    info "$line"
}

main() {
    parse_args "$@"
    require_root
    if ((WITH_STACK)); then
        check_distribution
        detect_php_version
        install_packages
        configure_git_identity
        install_wordops
        run_wordops_post_pref
        adapt_nginx_to_distribution
        create_runtime_dirs
        check_php_fpm_config
        start_redis
        start_mariadb
        configure_mariadb_access
        start_php_fpm
        start_nginx
    fi
    require_wordops
    install_plugin
    install_plugin_config
    install_plugin_loader
    close_tcp_pools
    install_control_pools
    install_sovereign_fpm
    configure_nginx_for_sovereign_sites
    restrict_ptrace
    restrict_wordops_database
    install_system_cron
    verify_plugin
    step "Done"
}

main "$@"
