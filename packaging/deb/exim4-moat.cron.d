# SPDX-License-Identifier: GPL-2.0-or-later
# moat's metrics (every minute) and daily report, for systems without
# systemd; under systemd the timers do this instead (systemctl enable --now
# moat-metrics.timer moat-report.timer) and these lines do nothing.
# Both are off until switched on in /etc/default/exim4-moat.
SHELL=/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin

* * * * *  root  [ ! -d /run/systemd/system ] && [ -x /usr/sbin/moatctl ] && [ -r /etc/default/exim4-moat ] && . /etc/default/exim4-moat && [ "$MOAT_METRICS" = yes ] && moatctl metrics --textfile "${MOAT_METRICS_TEXTFILE:-/var/lib/prometheus/node-exporter/moat.prom}" >/dev/null 2>&1; true
0 6 * * *  root  [ ! -d /run/systemd/system ] && [ -x /usr/sbin/moatctl ] && [ -r /etc/default/exim4-moat ] && . /etc/default/exim4-moat && [ "$MOAT_REPORT" = yes ] && moatctl report --since 24h --mail "${MOAT_REPORT_MAIL:-postmaster}"; true
