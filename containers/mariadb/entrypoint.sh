#!/bin/sh
# System tables, root password, database, user and init scripts on first start, then the server.
set -eu
if [ "${1:-}" != mariadbd ] && [ "${1#-}" != "${1:-}" ]; then
    set -- mariadbd "$@"  # only options given: they are mariadbd's, as with the official image
fi
if [ "${1:-}" = mariadbd ] && [ ! -d /var/lib/mysql/mysql ]; then
    : "${MARIADB_ROOT_PASSWORD:?set MARIADB_ROOT_PASSWORD}"
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db \
        --auth-root-authentication-method=normal >/dev/null
    mariadbd --user=mysql --skip-networking --socket=/run/mysqld/init.sock &
    pid=$!
    until mariadb --socket=/run/mysqld/init.sock -uroot -e 'SELECT 1' >/dev/null 2>&1; do sleep 0.2; done
    {
        echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$MARIADB_ROOT_PASSWORD';"
        echo "CREATE USER 'root'@'%' IDENTIFIED BY '$MARIADB_ROOT_PASSWORD';"
        echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
        if [ -n "${MARIADB_DATABASE:-}" ]; then
            echo "CREATE DATABASE \`$MARIADB_DATABASE\` DEFAULT CHARSET utf8mb4;"
        fi
        if [ -n "${MARIADB_USER:-}" ]; then
            echo "CREATE USER '$MARIADB_USER'@'%' IDENTIFIED BY '${MARIADB_PASSWORD:?}';"
            [ -n "${MARIADB_DATABASE:-}" ] && echo "GRANT ALL ON \`$MARIADB_DATABASE\`.* TO '$MARIADB_USER'@'%';"
        fi
    } | mariadb --socket=/run/mysqld/init.sock -uroot
    for script in /docker-entrypoint-initdb.d/*.sql; do
        [ -e "$script" ] && mariadb --socket=/run/mysqld/init.sock -uroot \
            -p"$MARIADB_ROOT_PASSWORD" ${MARIADB_DATABASE:+"$MARIADB_DATABASE"} < "$script"
    done
    kill "$pid"
    wait "$pid" || true
fi
exec "$@"
