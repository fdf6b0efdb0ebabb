#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see setup.py of wo multitenancy)
"""A site on the shared WordPress core of one server, through `wo multitenancy`."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: site
short_description: A WordPress site on the shared core of a WordOps server
description:
  - Creates, converts, isolates or deletes one site with C(wo multitenancy), from what
    C(wo multitenancy info --json) says of it. The checks, the undo of a failed step and the
    verification before a site is live are the plugin's own; this module only picks the command.
  - In check mode nothing changes. A conversion is checked with C(convert --dry-run); the other
    changes are reported from the site's record.
version_added: 1.0.0
author:
  - wo multitenancy developers (!UNKNOWN)
options:
  domain:
    description: The site's domain, as C(wo multitenancy list) shows it.
    type: str
    required: true
  state:
    description:
      - C(present) creates the site when the shared core has none of that name (a standalone
        WordOps site of that name makes C(create) refuse; use C(converted) for it).
      - C(converted) moves the standalone WordOps site onto the shared core (C(wo multitenancy
        convert)); nothing to do when it is there already.
      - C(isolated) is C(present) with I(isolation=sovereign).
      - C(absent) deletes the site from the shared core (its database, files and vhost); a
        standalone WordOps site is not touched.
    type: str
    choices: [present, absent, converted, isolated]
    default: present
  isolation:
    description:
      - C(sovereign) (its own system user and PHP-FPM pool) or C(shared) (WordOps' www-data pools).
      - On a new or converted site, its model (default the server's C(isolation) setting); on a
        site that has another, it is moved with C(wo multitenancy isolate).
    type: str
    choices: [sovereign, shared]
  php:
    description: The PHP version of a new site, such as C(8.2) (default the C(php_version) setting).
    type: str
  cache:
    description: The page cache of a new site (default the C(default_cache) setting).
    type: str
    choices: [wpfc, wpredis, wprocket, wpce, wpsc]
  admin_user:
    description: The administrator of a new site.
    type: str
    default: admin
  admin_email:
    description: The administrator's e-mail (default the C(admin_email) setting).
    type: str
  letsencrypt:
    description: Secure a new site with Let's Encrypt.
    type: bool
    default: false
  hsts:
    description: Send HSTS (with I(letsencrypt)).
    type: bool
    default: false
  dns:
    description: The acme.sh DNS API for the certificate, such as C(dns_cf).
    type: str
  return_password:
    description:
      - Return the administrator password of a site this task created, as I(admin_password).
      - It is a secret; set C(no_log) on the task that asks for it.
    type: bool
    default: false
notes:
  - Runs C(wo) as root on the managed host (C(become)).
  - Supports C(--diff), showing the site before and after (state, isolation, PHP, release).
'''

EXAMPLES = r'''
- name: A new sovereign site
  wordops.multitenancy.site:
    domain: shop.example.com
    php: "8.2"
    cache: wpredis
  become: true

- name: A standalone WordOps site moved onto the shared core and isolated
  wordops.multitenancy.site:
    domain: blog.example.com
    state: converted
    isolation: sovereign
  become: true

- name: A site created with its password kept for the next task
  wordops.multitenancy.site:
    domain: new.example.com
    return_password: true
  register: new_site
  no_log: true
  become: true

- name: Gone
  wordops.multitenancy.site:
    domain: old.example.com
    state: absent
  become: true
'''

RETURN = r'''
site:
  description: The site's record after the task (C(wo multitenancy info --json)), no password in it;
    empty when the site is absent.
  returned: always
  type: dict
  sample: {"domain": "shop.example.com", "state": "live", "isolation": "sovereign", "php": "8.2"}
commands:
  description: The C(wo multitenancy) commands run (or, in check mode, that would run).
  returned: always
  type: list
  elements: str
  sample: ["wo multitenancy create --json --admin-user admin --isolation sovereign --php82 -- shop.example.com"]
url:
  description: The new site's address.
  returned: when the task created the site
  type: str
admin_url:
  description: Its dashboard.
  returned: when the task created the site
  type: str
admin_password:
  description: The new site's administrator password.
  returned: when the task created the site and I(return_password) is true
  type: str
'''

import json

from ansible.module_utils.basic import AnsibleModule

WO = ['wo', 'multitenancy']
CREATED = ('url', 'admin_url', 'admin_user')


def run_wo(module, args, json_out=True):
    """Run `wo multitenancy ARGS` on the host; fail the task with its message when it fails."""
    rc, out, err = module.run_command(WO + args)
    if rc != 0:
        module.fail_json(msg=err.strip() or out.strip() or 'wo multitenancy {0}: exit {1}'.format(
            ' '.join(args), rc), rc=rc, command=' '.join(WO + args))
    return json.loads(out) if json_out else out


def site_record(module, domain):
    """The site's record, or None when the shared core has no site of that name."""
    sites = run_wo(module, ['list', '--json'])
    if domain not in [s['domain'] for s in sites]:
        return None
    return run_wo(module, on('info', ['--json'], domain))


def create_options(params, isolation):
    options = ['--json', '--admin-user', params['admin_user']]
    if isolation:
        options += ['--isolation', isolation]
    if params['php']:
        options.append('--php' + params['php'].replace('.', ''))
    if params['cache']:
        options.append('--' + params['cache'])
    if params['admin_email']:
        options += ['--admin-email', params['admin_email']]
    if params['letsencrypt']:
        options.append('--letsencrypt')
    if params['hsts']:
        options.append('--hsts')
    if params['dns']:
        options.append('--dns=' + params['dns'])
    return options


def on(verb, options, domain):
    """`verb OPTIONS -- DOMAIN`: a domain that looks like an option (--all) stays a domain."""
    return [verb] + options + ['--', domain]


def wanted_isolation(params):
    return 'sovereign' if params['state'] == 'isolated' else params['isolation']


def plan(params, record):
    """The commands that bring the site to the state asked for, in order."""
    domain, state, isolation = params['domain'], params['state'], wanted_isolation(params)
    if state == 'absent':
        return [on('delete', ['--force', '--json'], domain)] if record else []
    if record is None:
        if state == 'converted':
            return [on('convert', ['--json'] + (['--isolation', isolation] if isolation else []),
                       domain)]
        return [on('create', create_options(params, isolation), domain)]
    if isolation and record['isolation'] != isolation:
        return [on('isolate', ['--json', '--isolation', isolation], domain)]
    return []


def summary(record):
    if record is None:
        return {'state': 'absent'}
    return {k: record.get(k) for k in ('state', 'isolation', 'php', 'release', 'cache', 'ssl')}


def expected(params, record):
    """What check mode says the site would be."""
    if params['state'] == 'absent':
        return {'state': 'absent'}
    after = summary(record) if record else {'state': 'live'}
    if wanted_isolation(params):
        after['isolation'] = wanted_isolation(params)
    return after


def main():
    module = AnsibleModule(
        argument_spec=dict(
            domain=dict(type='str', required=True),
            state=dict(type='str', default='present',
                       choices=['present', 'absent', 'converted', 'isolated']),
            isolation=dict(type='str', choices=['sovereign', 'shared']),
            php=dict(type='str'),
            cache=dict(type='str', choices=['wpfc', 'wpredis', 'wprocket', 'wpce', 'wpsc']),
            admin_user=dict(type='str', default='admin'),
            admin_email=dict(type='str'),
            letsencrypt=dict(type='bool', default=False),
            hsts=dict(type='bool', default=False),
            dns=dict(type='str'),
            return_password=dict(type='bool', default=False, no_log=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params['state'] == 'isolated' and params['isolation'] == 'shared':
        module.fail_json(msg='state=isolated is isolation=sovereign; isolation=shared contradicts it')
    before = site_record(module, params['domain'])
    if before and before['state'] != 'live' and params['state'] != 'absent':
        module.fail_json(msg='{0} is {1} on the shared core, not live: see wo multitenancy info {0}'
                         .format(params['domain'], before['state']), site=before)
    commands = plan(params, before)
    result = dict(changed=bool(commands), commands=[' '.join(WO + c) for c in commands])
    if module.check_mode:
        for command in commands:
            if command[0] == 'convert':
                run_wo(module, ['convert', '--dry-run'] + command[1:])
        result.update(site=before or {},
                      diff=dict(before=summary(before), after=expected(params, before)))
        module.exit_json(**result)
    for command in commands:
        done = run_wo(module, command)
        if command[0] == 'create':
            result.update({k: done[k] for k in CREATED})
            if params['return_password']:
                result['admin_password'] = done['admin_password']
    after = site_record(module, params['domain'])
    result.update(site=after or {}, diff=dict(before=summary(before), after=summary(after)))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
