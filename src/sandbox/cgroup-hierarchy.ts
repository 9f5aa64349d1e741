// Where the cgroup hierarchies are, and which controllers each one carries, read from
// /proc/self/mountinfo and /proc/self/cgroup (never guessed from /sys/fs/cgroup's layout).
//
// Why both versions: hosts come in three shapes. Pure cgroup v2 (modern systemd distros) carries
// every controller on the unified hierarchy. "Hybrid" hosts (this project's CI machine, older
// systemd, many VMs) mount cgroup2 at /sys/fs/cgroup/unified with no resource controllers and
// keep memory/pids/cpu on v1 hierarchies; a controller cannot move to v2 while a v1 hierarchy
// holds it. Pure v1 hosts have no unified hierarchy at all. Cordon needs cgroup v2 for process
// tracking and `cgroup.kill` on every host, and takes each resource controller from v2 when v2
// has it, else from its v1 hierarchy (same kernel enforcement, older file names).

export const V1_CONTROLLERS = [
  'cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'blkio', 'perf_event',
  'net_prio', 'hugetlb', 'pids', 'rdma', 'misc',
] as const;

export interface CgroupMountEntry {
  mountpoint: string;
  /** Root of the mount within its hierarchy (4th mountinfo field). */
  root: string;
  fstype: 'cgroup' | 'cgroup2';
  /** v1: controllers named in the super options (`rw,cpu,cpuacct`); v2: empty. */
  controllers: string[];
}

export interface CgroupLayout {
  /** The unified hierarchy, if mounted. */
  v2?: {
    mountpoint: string;
    /** This process's cgroup directory on it. */
    ownDir: string;
  };
  /** v1 hierarchies by controller: mount point and this process's cgroup directory there. */
  v1: Map<string, { mountpoint: string; ownDir: string }>;
}

/** Undoes mountinfo's octal escapes (`\040` for a space). */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseCgroupMounts(mountinfo: string): CgroupMountEntry[] {
  const out: CgroupMountEntry[] = [];
  for (const line of mountinfo.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const pre = line.slice(0, dash).split(' ');
    const post = line.slice(dash + 3).split(' ');
    const fstype = post[0];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const root = unescapeMountField(pre[3] ?? '/');
    const mountpoint = unescapeMountField(pre[4] ?? '');
    const superOpts = (post[2] ?? '').split(',');
    const controllers = fstype === 'cgroup' ? superOpts.filter((o) => (V1_CONTROLLERS as readonly string[]).includes(o)) : [];
    out.push({ mountpoint, root, fstype, controllers });
  }
  return out;
}

/** `/proc/self/cgroup`: hierarchy id → controllers → path. Returns v2 path and v1 path by controller. */
export function parseProcCgroup(text: string): { v2?: string; v1: Map<string, string> } {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, id, ctl, path] = m as unknown as [string, string, string, string];
    if (id === '0' && ctl === '') v2 = path;
    else for (const c of ctl.split(',')) if (c) v1.set(c, path);
  }
  return v2 === undefined ? { v1 } : { v2, v1 };
}

function joinCg(mountpoint: string, mountRoot: string, cgPath: string): string {
  let rel = cgPath;
  if (mountRoot !== '/' && (cgPath === mountRoot || cgPath.startsWith(mountRoot + '/'))) rel = cgPath.slice(mountRoot.length);
  rel = rel.replace(/^\/+/, '');
  return rel === '' ? mountpoint : `${mountpoint}/${rel}`;
}

export function resolveLayout(mountinfo: string, procSelfCgroup: string): CgroupLayout {
  const mounts = parseCgroupMounts(mountinfo);
  const own = parseProcCgroup(procSelfCgroup);
  const layout: CgroupLayout = { v1: new Map() };
  const v2m = mounts.find((m) => m.fstype === 'cgroup2');
  if (v2m) layout.v2 = { mountpoint: v2m.mountpoint, ownDir: joinCg(v2m.mountpoint, v2m.root, own.v2 ?? '/') };
  for (const m of mounts) {
    if (m.fstype !== 'cgroup') continue;
    for (const c of m.controllers) {
      if (layout.v1.has(c)) continue;
      layout.v1.set(c, { mountpoint: m.mountpoint, ownDir: joinCg(m.mountpoint, m.root, own.v1.get(c) ?? '/') });
    }
  }
  return layout;
}
