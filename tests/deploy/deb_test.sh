#!/usr/bin/env bash
# The Debian package (deploy/debian/, README "Install from the .deb"): builds aktsync_<version>_amd64.deb
# with CPack from an existing build folder (only aktsyncd, aktsync and aktsync-seed are built), checks its
# control fields, conffiles, maintainer scripts and file list, installs it with dpkg into a throwaway root
# (dpkg --root with --force-script-chrootless: the maintainer scripts run against that root, without
# systemd), checks the user, folders and modes, verifies the units with systemd-analyze, runs the
# installed binary with the installed config (--check-config, then a server on a loopback port as the
# package's user: /healthz, /readyz, stop), refuses a database newer than the binary, reinstalls
# (upgrade) keeping the data, removes (data and config stay) and purges (the server's state goes).
# Usage: tests/deploy/deb_test.sh [BUILD_DIR]   (default build/quickstart: deploy/test.sh runs it after
# the quickstart stage, which made that Release build)
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
source deploy/lib.sh
akt_install_packages dpkg-dev  # dpkg-shlibdeps: CPack computes Depends from the binaries' libraries
build=$(cd "${1:-build/quickstart}" && pwd)
version=$(sed -n 's/^project(aktsync VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
work=$(mktemp -d)
chmod 755 "$work"  # the package's user runs the installed binary from under it
pid=
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
failed=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1" >&2; failed=$((failed + 1)); fi; }

# The package from the existing build: CPack's install step must not build every target of the folder.
cmake -S "$src" -B "$build" -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >/dev/null
cmake --build "$build" -j 2 --target aktsyncd aktsync aktsync-seed >/dev/null
(cd "$build" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log" >&2; exit 1; }
deb=$work/out/aktsync_${version}_amd64.deb
check "the package is aktsync_${version}_amd64.deb" "[ -f '$deb' ]"
[ -f "$deb" ] || { ls "$work/out" >&2; exit 1; }

# Control fields.
field() { dpkg-deb -f "$deb" "$1"; }
check "Package: aktsync" "[ '$(field Package)' = aktsync ]"
check "Version: $version" "[ '$(field Version)' = '$version' ]"
check "Architecture: amd64" "[ '$(field Architecture)' = amd64 ]"
check "a Maintainer and a Description" "[ -n '$(field Maintainer)' ] && [ -n \"\$(field Description)\" ]"
depends=$(field Depends)
echo "Depends: $depends"
for lib in libc6 libsqlite3-0 libssl3 zlib1g libzstd1 passwd; do
  check "Depends names $lib" "grep -q '\\b$lib\\b' <<<'$depends'"
done

# Conffiles and maintainer scripts.
dpkg-deb -e "$deb" "$work/control"
check "conffiles: the config alone" "[ \"\$(cat '$work/control/conffiles')\" = /etc/aktsync/aktsyncd.json ]"
for s in postinst prerm postrm; do
  check "$s is there, executable, and valid sh" "[ -x '$work/control/$s' ] && sh -n '$work/control/$s'"
done

# The file list: exactly these files (directories aside).
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $6 }' | sort > "$work/files"
cat > "$work/expected" <<'EOF'
./etc/aktsync/aktsyncd.json
./usr/bin/aktsync
./usr/bin/aktsync-seed
./usr/bin/aktsyncd
./usr/lib/systemd/system/aktsync-backup.service
./usr/lib/systemd/system/aktsync-backup.timer
./usr/lib/systemd/system/aktsyncd.service
./usr/share/doc/aktsync/README.md
./usr/share/doc/aktsync/aktsyncd.example.json
EOF
check "the file list" "diff -u '$work/expected' '$work/files'"
dpkg-deb -c "$deb" > "$work/listing"
check "binaries 0755 root:root" "grep -q '^-rwxr-xr-x root/root .* ./usr/bin/aktsyncd\$' '$work/listing'"

# Install into a throwaway root with the maintainer scripts run against it (DPKG_ROOT).
root=$work/root
mkdir -p "$root/etc" "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
echo 'root:*:19000:0:99999:7:::' > "$root/etc/shadow"
echo 'root:*::' > "$root/etc/gshadow"
chmod 0640 "$root/etc/shadow" "$root/etc/gshadow"
# Dependencies are the host's to satisfy (the root holds no other package).
dpkgr() { dpkg --root="$root" --force-script-chrootless --force-depends --log=/dev/null "$@"; }
dpkgr -i "$deb" >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; exit 1; }
check "dpkg says installed" "dpkg --root='$root' -s aktsync | grep -q '^Status: install ok installed'"

entry=$(grep '^aktsync:' "$root/etc/passwd" || true)
echo "user: $entry"
uid=$(cut -d: -f3 <<<"$entry")
gid=$(grep '^aktsync:' "$root/etc/group" | cut -d: -f3)
check "system user aktsync (uid < 1000, no login, home /var/lib/aktsync)" \
  "[ -n '$uid' ] && [ '$uid' -lt 1000 ] && [ '$(cut -d: -f6 <<<"$entry")' = /var/lib/aktsync ] && [ '$(cut -d: -f7 <<<"$entry")' = /usr/sbin/nologin ]"
check "group aktsync" "[ -n '$gid' ]"
mode() { stat -c '%a %u:%g' "$root$1"; }
check "/var/lib/aktsync 750 aktsync:aktsync" "[ '$(mode /var/lib/aktsync)' = '750 $uid:$gid' ]"
check "/var/lib/aktsync-backups 750 aktsync:aktsync" "[ '$(mode /var/lib/aktsync-backups)' = '750 $uid:$gid' ]"
check "/etc/aktsync 750 root:aktsync" "[ '$(mode /etc/aktsync)' = '750 0:$gid' ]"
check "/etc/aktsync/aktsyncd.json 640 root:aktsync" "[ '$(mode /etc/aktsync/aktsyncd.json)' = '640 0:$gid' ]"
check "/usr/bin/aktsyncd 755 root:root" "[ '$(mode /usr/bin/aktsyncd)' = '755 0:0' ]"
unit=$root/usr/lib/systemd/system/aktsyncd.service
check "the unit runs /usr/bin/aktsyncd as aktsync with the installed config" \
  "grep -qx 'ExecStart=/usr/bin/aktsyncd --config /etc/aktsync/aktsyncd.json --data-dir /var/lib/aktsync' '$unit' &&
   grep -qx 'User=aktsync' '$unit' && ! grep -q DynamicUser '$unit' && grep -qx 'StateDirectory=aktsync' '$unit'"
check "the backup unit runs as aktsync" \
  "grep -qx 'User=aktsync' '$root/usr/lib/systemd/system/aktsync-backup.service' &&
   grep -q '/usr/bin/aktsyncd backup' '$root/usr/lib/systemd/system/aktsync-backup.service'"

if command -v systemd-analyze >/dev/null; then
  # A root for systemd-analyze: the installed units and binary, the host's own units (the targets they
  # depend on), shell (the backup unit's ExecStart=) and kill (aktsyncd's ExecReload=).
  vroot=$work/verify-root
  mkdir -p "$vroot/usr/lib/systemd" "$vroot/usr/bin" "$vroot/bin"
  cp -a /usr/lib/systemd/system "$vroot/usr/lib/systemd/"
  cp "$root"/usr/lib/systemd/system/aktsync* "$vroot/usr/lib/systemd/system/"
  cp "$root/usr/bin/aktsyncd" "$vroot/usr/bin/"
  cp /bin/sh "$vroot/bin/sh"
  if [ -x /bin/kill ]; then cp /bin/kill "$vroot/bin/kill"; fi
  check "systemd-analyze verify (aktsyncd, backup service and timer)" \
    "systemd-analyze verify --root='$vroot' /usr/lib/systemd/system/aktsyncd.service \
       /usr/lib/systemd/system/aktsync-backup.service /usr/lib/systemd/system/aktsync-backup.timer >'$work/verify' 2>&1 ||
     { cat '$work/verify' >&2; false; }"
  for u in aktsyncd.service aktsync-backup.service; do
    echo "systemd-analyze security $u: $(systemd-analyze security --offline=yes --root="$vroot" "$u" 2>/dev/null | tail -1)"
  done
fi

# The installed binary with the installed config, as the package's user.
as_aktsync() { setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"; }
check "--check-config accepts the installed config" \
  "as_aktsync '$root/usr/bin/aktsyncd' --check-config '$root/etc/aktsync/aktsyncd.json' \
     --data-dir '$root/var/lib/aktsync' >'$work/check' 2>&1 ||
   { cat '$work/check' >&2; false; }"
# The first admin, as README "Install from the .deb" makes it: a password file the package's user writes
# and removes, the database made with the unit's umask.
pwfile=/var/lib/aktsync/admin-password
check "--create-user as the package's user" \
  "printf 'first admin password 1\n' | as_aktsync sh -c \"umask 077; cat > '$root$pwfile' &&
     '$root/usr/bin/aktsyncd' --config '$root/etc/aktsync/aktsyncd.json' --data-dir '$root/var/lib/aktsync' \
     --create-user admin --role admin --password-file '$root$pwfile'; rc=\\\$?; rm -f '$root$pwfile'; exit \\\$rc\" \
     >'$work/create' 2>&1 || { cat '$work/create' >&2; false; }"
check "the password file is gone" "[ ! -e '$root$pwfile' ]"
# The server's user writes its port file here (the data folder of the root is the server's too).
install -d -o "$uid" -g "$gid" -m 0700 "$work/run"
start() {
  rm -f "$work/run/port"
  (umask 0077; exec setpriv --reuid="$uid" --regid="$gid" --clear-groups "$root/usr/bin/aktsyncd" --config "$root/etc/aktsync/aktsyncd.json" \
     --data-dir "$root/var/lib/aktsync" --listen 127.0.0.1:0 --port-file "$work/run/port" >"$work/server.log" 2>&1) &
  pid=$!
  for _ in $(seq 1 600); do [ -s "$work/run/port" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}
stop() { kill -TERM "$pid"; local rc=0; wait "$pid" || rc=$?; pid=; return "$rc"; }
start
check "the installed server starts on a loopback port" "[ -s '$work/run/port' ] || { cat '$work/server.log' >&2; false; }"
if [ -s "$work/run/port" ]; then
  url=http://127.0.0.1:$(cat "$work/run/port")
  check "/healthz answers ok" "curl -sf '$url/healthz' | grep -q '\"status\":\"ok\"'"
  check "/readyz answers 200" "curl -sf -o /dev/null '$url/readyz'"
  check "the first admin signs in" \
    "curl -sf '$url/v1/login' -d '{\"username\":\"admin\",\"password\":\"first admin password 1\"}' | grep -q '\"token\"'"
  check "SIGTERM stops it with status 0" "stop"
fi
if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=; fi
check "the database is the server user's alone" \
  "[ \"\$(stat -c '%u %a' '$root/var/lib/aktsync/aktsync.db')\" = '$uid 600' ]"

# A database newer than the binary (a downgrade) is refused with status 1 and says why; it is left as it was.
cp "$root/var/lib/aktsync/aktsync.db" "$work/saved.db"
python3 -c 'import sqlite3,sys; db = sqlite3.connect(sys.argv[1]); db.execute("PRAGMA user_version=999"); db.commit()' \
  "$root/var/lib/aktsync/aktsync.db"
rc=0
as_aktsync "$root/usr/bin/aktsyncd" --config "$root/etc/aktsync/aktsyncd.json" --data-dir "$root/var/lib/aktsync" \
  --listen 127.0.0.1:0 >"$work/downgrade.log" 2>&1 || rc=$?
cat "$work/downgrade.log"
check "a newer database: exit status 1" "[ $rc = 1 ]"
check "a newer database: the message names both versions and the downgrade" \
  "grep -q 'schema version 999 is newer than this server knows' '$work/downgrade.log' && grep -q downgrade '$work/downgrade.log'"
check "a newer database: left at its version" \
  "[ \"\$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"PRAGMA user_version\").fetchone()[0])' '$root/var/lib/aktsync/aktsync.db')\" = 999 ]"
cp "$work/saved.db" "$root/var/lib/aktsync/aktsync.db"
rm -f "$root/var/lib/aktsync/aktsync.db-wal" "$root/var/lib/aktsync/aktsync.db-shm"

# Upgrade (the same package again): the user is not made twice, the data and an edited config stay.
echo '{"listen": "127.0.0.1:8080", "data_dir": "/var/lib/aktsync", "log_level": "warn"}' > "$root/etc/aktsync/aktsyncd.json"
sum=$(sha256sum < "$root/var/lib/aktsync/aktsync.db")
dpkgr -i "$deb" >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log" >&2; exit 1; }
check "upgrade: one aktsync user" "[ \"\$(grep -c '^aktsync:' '$root/etc/passwd')\" = 1 ]"
check "upgrade: the database is untouched" "[ \"\$(sha256sum < '$root/var/lib/aktsync/aktsync.db')\" = '$sum' ]"
check "upgrade: the admin's config is kept (a conffile), modes too" \
  "grep -q '\"warn\"' '$root/etc/aktsync/aktsyncd.json' && [ '$(mode /etc/aktsync/aktsyncd.json)' = '640 0:$gid' ]"

# Remove keeps the data and the config; purge removes the server's state, keeps the backups folder.
dpkgr -r aktsync >"$work/remove.log" 2>&1 || { cat "$work/remove.log" >&2; exit 1; }
check "remove: binaries gone" "[ ! -e '$root/usr/bin/aktsyncd' ]"
check "remove: database and config kept" "[ -f '$root/var/lib/aktsync/aktsync.db' ] && [ -f '$root/etc/aktsync/aktsyncd.json' ]"
dpkgr -P aktsync >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; exit 1; }
check "purge: /var/lib/aktsync and the config gone" "[ ! -e '$root/var/lib/aktsync' ] && [ ! -e '$root/etc/aktsync/aktsyncd.json' ]"
check "purge: the backups folder stays" "[ -d '$root/var/lib/aktsync-backups' ]"

if [ "$failed" != 0 ]; then
  echo "deb test: $failed check(s) failed" >&2
  exit 1
fi
echo "deb test: all checks passed ($(basename "$deb"), $(du -h "$deb" | cut -f1))"
