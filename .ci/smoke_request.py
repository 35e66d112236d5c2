"""One real request to an installed fastwsgi: start `python -m fastwsgi` (the
demo app) on a free port, GET /, check the reply, stop it with SIGTERM and
check it exits cleanly. Run with the Python of the environment under test, from
a directory outside the source tree."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

TIMEOUT = 30.0     # a cold interpreter on a busy machine


def wait_for_port(log_path, proc):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        with open(log_path) as f:
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", f.read())
        if match:
            return int(match.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    with open(log_path) as f:
        sys.exit("fastwsgi did not start:\n" + f.read())


def main():
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "server.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "fastwsgi", "--port", "0"],
                                    stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
        try:
            port = wait_for_port(log_path, proc)
            with urllib.request.urlopen("http://127.0.0.1:%d/smoke?x=1" % port, timeout=TIMEOUT) as reply:
                body = reply.read().decode()
                assert reply.status == 200, reply.status
            assert body.startswith("Hello world!"), body[:200]
            assert "PATH_INFO = '/smoke'" in body and "QUERY_STRING = 'x=1'" in body, body
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(TIMEOUT)
        assert code == 0, "fastwsgi exited with %s on SIGTERM" % code
        with open(log_path) as f:
            print(f.read().strip())
    print("smoke request: 200, the demo app's reply, clean exit on SIGTERM")


if __name__ == "__main__":
    main()
