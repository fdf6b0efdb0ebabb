"""Stand-in for pypa's get-pip.py, which ansible-test downloads from a host this machine
cannot reach: the venv's own ensurepip puts the pip bundled with Python in it, which then
installs what get-pip.py was asked for (pip at ansible-test's version) from the index."""
import ensurepip
import subprocess
import sys

ensurepip.bootstrap()
asked = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--quiet'] + asked)
