"""A load that saturates PHP: wrk on uncached pages of two or more sites at once, as the
README's users see their servers at peak (2 cores: two sites under `wrk -t1 -c8` each
keep every PHP-FPM worker busy). Shared by the end-to-end tests and the benchmarks.

Every request is also written by nginx to a log of its own (time, duration, status),
so a caller can compare latencies before and during a command.
"""
import os
import re
import signal
import subprocess
import time

from stack import PROBE

CONNECTIONS = 8
TIMEOUT = 10  # seconds: a request slower than this counts as failed, as wrk's --timeout
LOG = '/var/log/nginx/mt-load.log'
LOG_FORMAT = '/etc/nginx/conf.d/mt-load-format.conf'
SITE_LOG = 'mt-load-log.conf'  # in each loaded site's conf/nginx/
_ERRORS = re.compile(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)')
_NON_2XX = re.compile(r'Non-2xx or 3xx responses: (\d+)')
_REQUESTS = re.compile(r'(\d+) requests in')


class Saturated:
    """`with Saturated(['a.test', 'b.test']) as load:` keeps wrk running on each site's
    front page past the page cache (a query string) until the block ends; then
    `load.results` holds wrk's counts per site and `load.requests()` nginx's log.

    keepalive=False: a connection per request. nginx closes idle kept-alive connections
    at every reload (a create or delete reloads it), which HTTP lets a server do and
    clients answer by sending again on a new connection; wrk counts a request it sent
    at that moment as a read error instead."""

    def __init__(self, domains, paths=('/?load=1', '/?p=1&load=1'), keepalive=True):
        self.targets = [(d, paths[i % len(paths)]) for i, d in enumerate(domains)]
        self.results, self._runs = {}, []
        self.headers = [] if keepalive else ['-H', 'Connection: close']

    def __enter__(self):
        _log_requests([d for d, _ in self.targets])
        self.started = time.time()
        for domain, path in self.targets:
            self._runs.append((domain, subprocess.Popen(
                ['wrk', '-t1', '-c{0}'.format(CONNECTIONS), '-d3600s',
                 '--timeout', '{0}s'.format(TIMEOUT), '-H', 'Host: ' + domain] + self.headers +
                ['http://{0}{1}'.format(PROBE, path)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
        return self

    def __exit__(self, *exc):
        self.stopped = time.time()  # wrk's connections close now: nginx logs them as 499
        for _, run in self._runs:
            run.send_signal(signal.SIGINT)  # wrk stops and prints its counts
        for domain, run in self._runs:
            self.results[domain] = _counts(run.communicate(timeout=60)[0])
        self.ended = time.time()
        _stop_logging([d for d, _ in self.targets])

    def failures(self):
        """What failed: {domain: wrk's counts} of each site whose load saw a socket error,
        a timeout, an answer that is not 2xx or 3xx, or no answer at all, and under
        'nginx' the requests nginx logged with such a status, or that took longer than
        TIMEOUT (also those still waiting when wrk stopped)."""
        failed = {d: r for d, r in self.results.items()
                  if r['requests'] == 0 or any(r[k] for k in r if k != 'requests')}
        slow_or_bad = [r for r in self.requests()  # answered when wrk stopped: its 499s
                       if r[1] > TIMEOUT or (r[0] < self.stopped and not 200 <= r[2] < 400)]
        if slow_or_bad:
            failed['nginx'] = slow_or_bad
        return failed

    def requests(self, start=None, end=None):
        """[(time, seconds, status)] of the load's requests that nginx finished between
        `start` and `end` (epoch seconds)."""
        found = []
        with open(LOG) as f:
            for line in f:
                at, seconds, status, _, uri = line.split()[:5]
                if 'load=' in uri and (start is None or float(at) >= start) \
                        and (end is None or float(at) <= end):
                    found.append((float(at), float(seconds), int(status)))
        return found


def p99(requests):
    """The 99th percentile of the requests' durations, in seconds."""
    durations = sorted(seconds for _, seconds, _ in requests)
    return durations[min(len(durations) - 1, int(len(durations) * 0.99))] if durations else None


def _counts(output):
    errors = _ERRORS.search(output)
    counts = dict(zip(('connect', 'read', 'write', 'timeout'),
                      map(int, errors.groups()) if errors else (0, 0, 0, 0)))
    non_2xx = _NON_2XX.search(output)
    counts['non_2xx_3xx'] = int(non_2xx.group(1)) if non_2xx else 0
    requests = _REQUESTS.search(output)
    assert requests, 'wrk printed no counts: ' + output
    counts['requests'] = int(requests.group(1))
    return counts


def _log_requests(domains):
    """Every request of `domains` also into LOG, one line each: time, duration, status."""
    with open(LOG_FORMAT, 'w') as f:
        f.write("log_format mt_load '$msec $request_time $status $host $request_uri';\n")
    for domain in domains:
        with open(_site_log(domain), 'w') as f:
            f.write('access_log {0} mt_load;\n'.format(LOG))
    if os.path.exists(LOG):
        os.unlink(LOG)
    _reload_nginx()


def _stop_logging(domains):
    for path in [_site_log(d) for d in domains] + [LOG_FORMAT]:
        if os.path.exists(path):
            os.unlink(path)
    _reload_nginx()


def _site_log(domain):
    return '/var/www/{0}/conf/nginx/{1}'.format(domain, SITE_LOG)


def _reload_nginx():
    subprocess.run(['nginx', '-s', 'reload'], check=True, stderr=subprocess.DEVNULL)
    time.sleep(1)  # old workers finish; the new ones log
