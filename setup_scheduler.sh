#!/usr/bin/env bash
# Schedule the nightly stock-refresh run as a systemd user timer (recommended) or a cron entry,
# or remove what this script installed. ./setup_scheduler.sh --help lists the options.
#
# Environment: STOCK_REFRESH_PYTHON replaces the project's .venv/bin/python (for tests and
# unusual layouts); XDG_CONFIG_HOME decides where user units go, as systemd does.
set -euo pipefail

PROJECT_DIR=$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")" && pwd -P)
PYTHON=${STOCK_REFRESH_PYTHON:-$PROJECT_DIR/.venv/bin/python}
CONFIG=$PROJECT_DIR/batch_config.json
UNIT_DIR=${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user
UNITS=(stock-refresh.service stock-refresh.timer stock-refresh-failure.service)
TIMER=stock-refresh.timer
UNIT_MARK='# Installed by setup_scheduler.sh'
CRON_BEGIN='# >>> stock-refresh (managed by setup_scheduler.sh) >>>'
CRON_END='# <<< stock-refresh <<<'
USER_NAME=${USER:-$(id -un)}
ENV_FILE=''
ACTION=''
ASSUME_YES=0
DRY_RUN=0
REMOVED=0

usage() {
    cat <<EOF
Usage: ${0##*/} [ACTION] [--config PATH] [--yes] [--dry-run]

Schedules the nightly stock-refresh run (batch_refresh.py) for the current user.
Without an action, an interactive menu is shown.

Actions:
  --systemd      install a systemd user timer (recommended): units go to
                 ${UNIT_DIR}, the timer is enabled and started
  --cron         install a cron entry instead (a marked block in your crontab)
  --uninstall    remove the units and the crontab block this script installed, nothing else
  --status       show the timer, the crontab block and lingering
  --help         show this help

Options:
  --config PATH  the config file (default: $PROJECT_DIR/batch_config.json)
  --yes          answer yes to questions (enable lingering)
  --dry-run      print what would be done, change nothing

The run time and time zone come from scheduling.run_time and scheduling.timezone in the
config; run the script again after changing them. It is safe to run it any number of times.

Environment:
  STOCK_REFRESH_SEC_CONTACT  when set, saved into the .env beside the config (owner-only),
                        which the scheduled job reads
  STOCK_REFRESH_PYTHON  the Python to schedule instead of $PROJECT_DIR/.venv/bin/python
  XDG_CONFIG_HOME       where user units go, as for systemd (default: ~/.config)
EOF
}

say() { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# A command that changes something: only printed with --dry-run.
run() {
    if ((DRY_RUN)); then
        say "[dry-run] would run: $*"
    else
        "$@"
    fi
}

# Yes with --yes; no when nobody is there to answer.
confirm() {
    ((ASSUME_YES)) && return 0
    [[ -t 0 ]] || return 1
    local reply
    read -r -p "$1 [y/N] " reply
    [[ $reply == [yY]* ]]
}

# Runs "$@" with the SEC contact the scheduled job will get: this shell's
# $STOCK_REFRESH_SEC_CONTACT (save_contact writes it into the .env), else the .env's own.
# The (...) body keeps those changes to the environment out of this script.
# shellcheck disable=SC2030
as_scheduled() (
    local contact=${STOCK_REFRESH_SEC_CONTACT:-}
    if [[ -n $ENV_FILE && -f $ENV_FILE ]]; then
        set -a
        # shellcheck source=/dev/null
        . "$ENV_FILE"
        set +a
    fi
    [[ -z ${contact//[[:space:]]/} ]] || export STOCK_REFRESH_SEC_CONTACT=$contact
    "$@"
)

# The project's own Python, run from the project folder so `-m stock_refresh...` imports, and
# with the contact the scheduled job will get, so every check sees what 2 AM will see.
py() { (cd -- "$PROJECT_DIR" && as_scheduled "$PYTHON" "$@"); }

check_python() {
    [[ -x $PYTHON ]] || die "no Python at $PYTHON: run the README set-up first (it creates .venv)"
    [[ -f $PROJECT_DIR/batch_refresh.py ]] || die "batch_refresh.py not found in $PROJECT_DIR"
}

check_config() {
    [[ -f $CONFIG ]] || die "config file not found: $CONFIG (create it as the README shows, or pass --config PATH)"
    local out
    ENV_FILE=$(py -m stock_refresh.schedule env-file --config "$CONFIG")
    out=$(py "$PROJECT_DIR/batch_refresh.py" --config "$CONFIG" --check-config 2>&1) ||
        die "the config does not load, nothing was scheduled: ${out:-no output}"
    say "$out"
}

# A contact given only in this shell would be missing at 2 AM: it goes into the .env beside the
# config, which the units (EnvironmentFile=) and the cron line read.
save_contact() {
    # shellcheck disable=SC2031
    local contact=${STOCK_REFRESH_SEC_CONTACT:-} extra=()
    [[ -n ${contact//[[:space:]]/} ]] || return 0
    ((DRY_RUN)) && extra=(--dry-run)
    py -m stock_refresh.schedule save-contact --config "$CONFIG" "${extra[@]}"
}

make_dirs() {
    local dirs dir
    dirs=$(py -m stock_refresh.schedule dirs --config "$CONFIG")
    while IFS= read -r dir; do
        [[ -z $dir || -d $dir ]] && continue
        if ((DRY_RUN)); then
            say "[dry-run] would create $dir (mode 0700)"
        else
            (umask 077 && mkdir -p -- "$dir")
            say "created $dir"
        fi
    done <<<"$dirs"
}

# Fails on a timer expression this host's systemd cannot parse (time zones need v235).
check_calendar() {
    command -v systemd-analyze >/dev/null || return 0
    local expr
    expr=$(py -m stock_refresh.schedule on-calendar --config "$CONFIG")
    systemd-analyze calendar "$expr" >/dev/null 2>&1 ||
        die "this systemd cannot parse OnCalendar=$expr (time zones need systemd 235 and tzdata); use --cron"
}

installed_units() {
    local unit
    for unit in "${UNITS[@]}"; do
        [[ -f $UNIT_DIR/$unit ]] && say "$unit"
    done
    return 0
}

read_crontab() {
    local err rc=0 table
    err=$(mktemp)
    table=$(crontab -l 2>"$err") || rc=$?
    if ((rc)) && ! grep -qi 'no crontab' "$err"; then
        say "crontab -l failed: $(cat "$err")" >&2
        rm -f "$err"
        return 1
    fi
    rm -f "$err"
    printf '%s\n' "$table"
}

cron_installed() {
    command -v crontab >/dev/null || return 1
    local table
    table=$(read_crontab) || return 1
    grep -qxF -- "$CRON_BEGIN" <<<"$table"
}

# stdin: a crontab; stdout: the same without this script's block. Fails on a damaged block
# (a marker without its partner) rather than guess where it ends.
strip_cron_block() {
    awk -v begin="$CRON_BEGIN" -v end="$CRON_END" '
        $0 == begin { if (skip) bad = 1; skip = 1; next }
        $0 == end   { if (!skip) bad = 1; skip = 0; next }
        !skip       { print }
        END         { exit (skip || bad) ? 3 : 0 }'
}

# Installs a new crontab (with --dry-run only says so); $2 says what changed.
write_crontab() {
    local table=$1 what=$2
    if ((DRY_RUN)); then
        say "[dry-run] would change the crontab: stock-refresh entry $what"
    else
        printf '%s\n' "$table" | crontab -
        say "crontab: stock-refresh entry $what"
    fi
}

remove_cron() {
    command -v crontab >/dev/null || return 0
    local current rest
    current=$(read_crontab) || die "cannot read your crontab"
    grep -qxF -- "$CRON_BEGIN" <<<"$current" || return 0
    rest=$(strip_cron_block <<<"$current") ||
        die "your crontab has a damaged stock-refresh block (a marker line without its partner); fix it with crontab -e"
    write_crontab "$rest" removed
    REMOVED=1
}

remove_systemd() {
    local units unit
    units=$(installed_units)
    [[ -n $units ]] || return 0
    if command -v systemctl >/dev/null; then
        run systemctl --user disable --now "$TIMER" || warn "could not disable $TIMER"
    fi
    while IFS= read -r unit; do
        if grep -qF -- "$UNIT_MARK" "$UNIT_DIR/$unit"; then
            run rm -f -- "$UNIT_DIR/$unit"
            ((DRY_RUN)) || say "removed $UNIT_DIR/$unit"
        else
            warn "$UNIT_DIR/$unit was not written by this script; left in place"
        fi
    done <<<"$units"
    REMOVED=1
    if command -v systemctl >/dev/null; then
        run systemctl --user daemon-reload || warn "systemctl --user daemon-reload failed"
        run systemctl --user reset-failed stock-refresh.service stock-refresh-failure.service \
            2>/dev/null || true
    fi
}

offer_linger() {
    if ! command -v loginctl >/dev/null; then
        warn "loginctl not found: cannot check lingering (see the README)"
        return 0
    fi
    local state
    state=$(loginctl show-user "$USER_NAME" --property=Linger --value 2>/dev/null || true)
    if [[ $state == yes ]]; then
        say "lingering is on for $USER_NAME: the timer also runs while you are logged out"
        return 0
    fi
    say "Lingering is off for $USER_NAME. Your systemd user manager, and with it this timer,"
    say "then only runs while you are logged in: a night you are logged out is skipped and"
    say "runs at your next login instead. 'loginctl enable-linger' starts the user manager at"
    say "boot and keeps it running after you log out."
    if confirm "Enable lingering for $USER_NAME now?"; then
        if run loginctl enable-linger "$USER_NAME"; then
            ((DRY_RUN)) || say "lingering enabled for $USER_NAME"
        else
            warn "could not enable lingering; ask an administrator to run: sudo loginctl enable-linger $USER_NAME"
        fi
    else
        say "lingering not enabled; to enable it later: loginctl enable-linger $USER_NAME"
    fi
}

install_systemd() {
    command -v systemctl >/dev/null || die "systemctl not found (no systemd here); use --cron"
    systemctl --user show-environment >/dev/null 2>&1 ||
        die "cannot reach your systemd user manager (systemctl --user): log in directly (not through su or sudo), or use --cron"
    check_calendar
    local extra=() written
    ((DRY_RUN)) && extra=(--dry-run)
    written=$(py -m stock_refresh.schedule render-systemd --config "$CONFIG" \
        --project-dir "$PROJECT_DIR" --python "$PYTHON" --out-dir "$UNIT_DIR" "${extra[@]}")
    say "$written"
    run systemctl --user daemon-reload
    run systemctl --user enable --now "$TIMER"
    # A timer that was already running gets its new OnCalendar= on restart.
    if grep -q "^updated .*/$TIMER\$" <<<"$written"; then
        run systemctl --user restart "$TIMER"
    fi
    if cron_installed; then
        say "switching from cron to the systemd timer: removing the crontab block"
        remove_cron
    fi
    offer_linger
    py -m stock_refresh.schedule info --config "$CONFIG"
    if ((!DRY_RUN)); then
        systemctl --user list-timers "$TIMER" --no-pager || true
    fi
}

install_cron() {
    command -v crontab >/dev/null || die "crontab not found: install cron, or use --systemd"
    local flock_bin block current rest new
    flock_bin=$(command -v flock) || die "flock not found: install util-linux"
    block=$(py -m stock_refresh.schedule render-cron --config "$CONFIG" \
        --project-dir "$PROJECT_DIR" --python "$PYTHON" --flock "$flock_bin")
    current=$(read_crontab) || die "cannot read your crontab"
    rest=$(strip_cron_block <<<"$current") ||
        die "your crontab has a damaged stock-refresh block (a marker line without its partner); fix it with crontab -e"
    # The block goes last: its CRON_TZ= line applies to every line after it.
    new=${rest:+$rest$'\n'}$block
    if [[ $new == "$current" ]]; then
        say "crontab: stock-refresh entry unchanged"
    elif grep -qxF -- "$CRON_BEGIN" <<<"$current"; then
        write_crontab "$new" updated
    else
        write_crontab "$new" added
    fi
    ((DRY_RUN)) && say "$block"
    if [[ -n $(installed_units) ]]; then
        say "switching from the systemd timer to cron: removing the units"
        remove_systemd
    fi
    py -m stock_refresh.schedule info --config "$CONFIG" --cron
}

uninstall() {
    remove_systemd
    remove_cron
    if ((!REMOVED)); then
        say "nothing to uninstall: no stock-refresh units in $UNIT_DIR and no crontab block"
        return 0
    fi
    ((DRY_RUN)) && return 0
    say "uninstalled. Left in place: the config and the .env beside it, the database, logs,"
    say "backups, reports and ${XDG_CACHE_HOME:-$HOME/.cache}/stock-refresh; lingering too"
    say "(loginctl disable-linger $USER_NAME turns it off)."
}

test_run() {
    say "test run: one stock, nothing written (batch_refresh.py --dry-run --limit 1)"
    py "$PROJECT_DIR/batch_refresh.py" --config "$CONFIG" --dry-run --limit 1
}

show_status() {
    say "== systemd user timer"
    if [[ -n $(installed_units) ]]; then
        systemctl --user list-timers "$TIMER" --no-pager || true
        systemctl --user status stock-refresh.service --no-pager || true
    else
        say "not installed"
    fi
    say "== cron"
    if cron_installed; then
        read_crontab | awk -v begin="$CRON_BEGIN" -v end="$CRON_END" \
            '$0 == begin { show = 1 } show { print } $0 == end { show = 0 }'
    else
        say "not installed"
    fi
    say "== lingering"
    loginctl show-user "$USER_NAME" --property=Linger --value 2>/dev/null || say "unknown"
}

menu() {
    cat <<EOF
stock-refresh scheduler
  project: $PROJECT_DIR
  config:  $CONFIG
  1) install the systemd user timer (recommended)
  2) install a cron entry
  3) uninstall (timer and cron entry)
  4) test run (one stock, nothing written)
  5) show status
  6) quit
EOF
    local choice
    read -r -p "choice [1-6]: " choice
    case $choice in
        1) ACTION=systemd ;;
        2) ACTION=cron ;;
        3) ACTION=uninstall ;;
        4) ACTION=test-run ;;
        5) ACTION=status ;;
        *) exit 0 ;;
    esac
}

set_action() {
    [[ -z $ACTION ]] || { usage >&2; die "choose one action, not --$ACTION and $1"; }
    ACTION=${1#--}
}

while (($#)); do
    case $1 in
        --systemd | --cron | --uninstall | --status) set_action "$1" ;;
        --yes | -y) ASSUME_YES=1 ;;
        --dry-run) DRY_RUN=1 ;;
        --config)
            (($# >= 2)) || { usage >&2; exit 2; }
            CONFIG=$2
            shift
            ;;
        --config=*) CONFIG=${1#--config=} ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            printf 'error: unknown option: %s\n' "$1" >&2
            exit 2
            ;;
    esac
    shift
done
[[ $CONFIG == /* ]] || CONFIG=$PWD/$CONFIG

if [[ -z $ACTION ]]; then
    [[ -t 0 ]] || { usage >&2; die "no action given (and no terminal for the menu)"; }
    menu
fi

case $ACTION in
    uninstall) uninstall ;;
    status) show_status ;;
    *)
        check_python
        check_config
        case $ACTION in
            systemd)
                make_dirs
                save_contact
                install_systemd
                ;;
            cron)
                make_dirs
                save_contact
                install_cron
                ;;
            test-run) test_run ;;
        esac
        ;;
esac
