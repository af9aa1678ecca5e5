# The Debian package (README "Install from the .deb"): `cpack -G DEB` in a build folder makes
# aktsync_<version>_amd64.deb with aktsyncd, aktsync and aktsync-seed in /usr/bin, the systemd units
# (run as the system user `aktsync`, state in /var/lib/aktsync), the backup timer, the config conffile
# /etc/aktsync/aktsyncd.json and the maintainer scripts of this folder. Tested by tests/deploy/deb_test.sh.
set(akt_deb_dir ${CMAKE_CURRENT_LIST_DIR})
set(akt_deb_out ${CMAKE_BINARY_DIR}/debian)

# The packaged units are deploy/'s units with the package's paths and its static user instead of a
# dynamic one (the data must stay owned by one known user across upgrades and backups).
file(READ ${PROJECT_SOURCE_DIR}/deploy/aktsyncd.service akt_unit)
string(REPLACE "/usr/local/bin/" "/usr/bin/" akt_unit "${akt_unit}")
string(REPLACE "Install the binary to /usr/local/bin and the config to /etc/aktsync/."
               "Installed by the aktsync package." akt_unit "${akt_unit}")
string(REPLACE "DynamicUser=yes\n" "User=aktsync\nGroup=aktsync\nUMask=0077\n" akt_unit "${akt_unit}")
string(REPLACE "StateDirectory=aktsync\n" "StateDirectory=aktsync\nStateDirectoryMode=0750\n" akt_unit "${akt_unit}")
file(WRITE ${akt_deb_out}/aktsyncd.service "${akt_unit}")
file(READ ${PROJECT_SOURCE_DIR}/deploy/aktsync-backup.service akt_unit)
string(REPLACE "/usr/local/bin/" "/usr/bin/" akt_unit "${akt_unit}")
string(REPLACE "DynamicUser=yes\nUser=aktsyncd\n" "User=aktsync\nGroup=aktsync\n" akt_unit "${akt_unit}")
string(REPLACE "StateDirectory=aktsync aktsync-backups\n" "StateDirectory=aktsync aktsync-backups\nStateDirectoryMode=0750\n"
               akt_unit "${akt_unit}")
file(WRITE ${akt_deb_out}/aktsync-backup.service "${akt_unit}")

install(FILES ${akt_deb_out}/aktsyncd.service ${akt_deb_out}/aktsync-backup.service
              ${PROJECT_SOURCE_DIR}/deploy/aktsync-backup.timer
        DESTINATION lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/aktsyncd.example.json DESTINATION /etc/aktsync RENAME aktsyncd.json)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/aktsyncd.example.json ${PROJECT_SOURCE_DIR}/README.md
        DESTINATION share/doc/aktsync)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME aktsync)
set(CPACK_PACKAGE_VENDOR aktsync)
set(CPACK_PACKAGE_CONTACT "aktsync maintainers <aktsync@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "offline-first field data-collection sync server")
set(CPACK_PACKAGE_DESCRIPTION "aktsyncd keeps the surveys of tablets that work offline and sync over poor\n\
links; aktsync is its command-line client and aktsync-seed sets up demo data.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends from the linked libraries (libzstd1, zlib1g, ...)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${akt_deb_dir}/conffiles ${akt_deb_dir}/postinst ${akt_deb_dir}/prerm ${akt_deb_dir}/postrm)
include(CPack)
