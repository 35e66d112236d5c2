"""--user and --group: look accounts up, check the switch is possible, switch.

The master keeps the identity it was started with, so it can still remove
the pid file and the unix socket files it created; each worker switches
right after it has its sockets and before it imports the app, so the app
never runs with the master's privileges.
"""

import grp
import os
import pwd

from fastwsgi.errors import ConfigError, FastWSGIError

__all__ = ["find_user", "find_group", "check_switch", "switch"]


def _find(by_name, by_id, name_or_id):
    try:
        return by_name(name_or_id)
    except KeyError:
        pass
    if name_or_id.isdigit():
        try:
            return by_id(int(name_or_id))
        except (KeyError, OverflowError):
            pass
    return None


def find_user(name_or_id):
    """The pwd entry of a user name or uid, or None."""
    return _find(pwd.getpwnam, pwd.getpwuid, name_or_id)


def find_group(name_or_id):
    """The grp entry of a group name or gid, or None."""
    return _find(grp.getgrnam, grp.getgrgid, name_or_id)


def _target(config):
    """(pwd entry or None, gid or None) that config.user / config.group ask for."""
    user = find_user(config.user) if config.user else None
    if config.group:
        gid = find_group(config.group).gr_gid
    else:
        gid = user.pw_gid if user else None
    return user, gid


def check_switch(config):
    """Raise ConfigError (one line) if this process cannot become the
    --user/--group of config: only root can switch to another account."""
    if os.geteuid() == 0:
        return
    user, gid = _target(config)
    if user is not None and user.pw_uid != os.geteuid():
        name, value = "user", config.user
    elif gid is not None and gid != os.getegid():
        name, value = "group", config.group
    else:
        return                      # "switching" to oneself is harmless
    raise ConfigError(
        "%s %s: only root can run the workers as another %s (this process runs"
        " as uid %d); start fastwsgi as root or leave out %s"
        % (config.source_of(name), value, name, os.geteuid(), config.source_of(name)))


def switch(config):
    """Become config.user / config.group: supplementary groups, then the
    group, then the user (after setuid nothing else could be changed)."""
    user, gid = _target(config)
    try:
        if os.geteuid() == 0 and gid is not None:
            if user is not None:
                os.initgroups(user.pw_name, gid)
            else:
                os.setgroups([gid])
        if gid is not None:
            os.setgid(gid)
        if user is not None:
            os.setuid(user.pw_uid)
    except OSError as exc:
        raise FastWSGIError("cannot switch to user %s / group %s: %s"
                            % (config.user, config.group, exc.strerror)) from None
