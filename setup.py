"""wordops-multitenancy: a WordOps plugin that runs many sites on one shared WordPress core.

It installs beside WordOps in the same Python environment and owns only its own files:
the five plugin modules in wo/cli/plugins/ and the wo.multitenancy package.
"""
from setuptools import setup

setup(
    name='wordops-multitenancy',
    version='0.1.0',
    description='Many WordPress sites on one shared core, as a WordOps plugin',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='MIT',
    python_requires='>=3.8',
    py_modules=[
        'wo.cli.plugins.multitenancy',
        'wo.cli.plugins.multitenancy_functions',
        'wo.cli.plugins.multitenancy_db',
        'wo.cli.plugins.multitenancy_everyday',
        'wo.cli.plugins.multitenancy_everyday_functions',
        'wo.cli.plugins.multitenancy_items',
    ],
    packages=['wo.multitenancy'],
    package_data={'wo.multitenancy': ['templates/*', 'php/*.php', 'php/config-stop/*']},
    install_requires=['wordops>=3.20', 'pystache', 'requests', 'python-dateutil'],
)
