import {
  LOCK_COMM_TARGET,
  METADATA_KEY,
  hasMetadata,
  lockMetadata
} from '../lockbridge';

/** A lock as `ops/lock.py` writes it (`lock_to_json`). */
function kernelLock(): { [key: string]: unknown } {
  return {
    format: 'jupyter-spackcache-lock',
    version: 1,
    created: 1763776000.25,
    host: 'linux-debian12-zen3',
    mirrors: [{ name: 'demo', url: 'http://127.0.0.1:8000/' }],
    nodes: [
      {
        name: 'demo-tool',
        version: '1.0.0',
        hash: 'abcdefghijklmnopqrstuvwxyz234567',
        target: 'x86_64_v3',
        mirror: 'demo',
        root: true
      },
      {
        name: 'libdemo-base',
        version: '1.2.0',
        hash: 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz2',
        target: 'x86_64',
        mirror: null,
        root: false
      }
    ]
  };
}

describe('lock bridge', () => {
  it('names the comm target and the metadata key the kernel uses', () => {
    expect(LOCK_COMM_TARGET).toBe('jupyter_spackcache.lock');
    expect(METADATA_KEY).toBe('spackcache');
  });

  it('keeps a kernel lock unchanged under metadata.spackcache.lock', () => {
    const check = lockMetadata(kernelLock());
    expect(check).toEqual({ ok: true, value: { lock: kernelLock() } });
  });

  it('copies only the known fields', () => {
    const payload = kernelLock();
    payload.extra = 'dropped';
    (payload.nodes as { [key: string]: unknown }[])[0].script = 'dropped';
    const check = lockMetadata(payload);
    expect(check.ok && check.value.lock).toEqual(kernelLock());
  });

  it('refuses what is not a lock, saying why', () => {
    const refused = (payload: unknown): string => {
      const check = lockMetadata(payload);
      return check.ok ? 'accepted' : check.reason;
    };
    expect(refused(null)).toBe('not a jupyter-spackcache lock');
    expect(refused({ ...kernelLock(), format: 'other' })).toBe(
      'not a jupyter-spackcache lock'
    );
    expect(refused({ ...kernelLock(), version: 2 })).toBe(
      'lock version 2; this extension reads 1'
    );
    expect(refused({ ...kernelLock(), nodes: [] })).toBe(
      'the lock lists no builds'
    );
    expect(refused({ ...kernelLock(), host: 3 })).toBe(
      'the lock needs a numeric created and a host'
    );
    expect(refused({ ...kernelLock(), mirrors: {} })).toBe(
      'the lock has no mirror list'
    );
    const badHash = kernelLock();
    (badHash.nodes as { [key: string]: unknown }[])[1].hash = 'ABC';
    expect(refused(badHash)).toBe(
      'node 1 (libdemo-base) has no valid DAG hash'
    );
    const badRoot = kernelLock();
    (badRoot.nodes as { [key: string]: unknown }[])[0].root = 'yes';
    expect(refused(badRoot)).toBe(
      'node 0 (demo-tool) has a bad mirror or root field'
    );
    expect(refused({ ...kernelLock(), nodes: ['x'] })).toBe(
      'node 0 is not an object'
    );
    expect(refused({ ...kernelLock(), mirrors: [{ name: 'demo' }] })).toBe(
      'mirror 0 needs string name and url'
    );
  });

  it('writes only to models with notebook metadata', () => {
    const stored: { [key: string]: unknown } = {};
    const notebookLike = {
      setMetadata: (key: string, value: unknown) => {
        stored[key] = value;
      }
    };
    expect(hasMetadata(notebookLike)).toBe(true);
    expect(hasMetadata({ dirty: false })).toBe(false);
    const check = lockMetadata(kernelLock());
    if (check.ok && hasMetadata(notebookLike)) {
      notebookLike.setMetadata(METADATA_KEY, check.value);
    }
    expect(stored).toEqual({ spackcache: { lock: kernelLock() } });
  });
});
