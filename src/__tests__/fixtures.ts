/**
 * Bodies captured from the real server extension (demo mirror), trimmed:
 * the frontend's types are checked against what the Python side writes.
 */
import { IInstalledRecord, IPlan, IProgressEvent, ITask } from '../api';

export const PLAN: IPlan = {
  install_root: '/tmp/sch1/opt',
  roots: ['xtcna5sqmspfwhsqofejvizyfrighmlk'],
  nodes: [
    {
      hash: '7f2zo3bgfulnsol5gzkrvbbypfp2l6ke',
      name: 'glibc',
      version: '2.36',
      target: 'x86_64',
      action: 'external',
      prefix: null,
      size: null,
      mirror: null,
      explicit: false
    },
    {
      hash: 'chafrhuljxwc3ebykdah75o5ztxqd4rz',
      name: 'libdemo-base',
      version: '1.2.0',
      target: 'x86_64',
      action: 'reuse',
      prefix: '/tmp/sch1/opt/linux-x86_64/libdemo-base-1.2.0-chafrhu',
      size: 3417,
      mirror: 'demo',
      explicit: false
    },
    {
      hash: '4pbmksgqqfdkjbed65lcbnttprquhjfe',
      name: 'libdemo-mid',
      version: '2.0.1',
      target: 'x86_64',
      action: 'download',
      prefix: '/tmp/sch1/opt/linux-x86_64/libdemo-mid-2.0.1-4pbmksg',
      size: 3432,
      mirror: 'demo',
      explicit: false
    },
    {
      hash: 'xtcna5sqmspfwhsqofejvizyfrighmlk',
      name: 'demo-tool',
      version: '1.0.0',
      target: 'x86_64',
      action: 'download',
      prefix: '/tmp/sch1/opt/linux-x86_64/demo-tool-1.0.0-xtcna5s',
      size: 4017,
      mirror: 'demo',
      explicit: true
    }
  ],
  download_bytes: 7449,
  ok: true,
  checks: [
    {
      name: 'writable',
      ok: true,
      message: 'install root /tmp/sch1/opt is writable',
      hint: null
    },
    {
      name: 'space',
      ok: true,
      message: '81827.2 MB free, about 0.0 MB needed',
      hint: null
    }
  ]
};

export const QUEUED_TASK: ITask = {
  id: 'c5fd4ee4510a',
  specs: ['demo-tool'],
  kernel: false,
  install_root: '/tmp/sch1/opt',
  state: 'queued',
  created: 1795311119.01,
  started: null,
  finished: null,
  nodes: [],
  bytes_done: 0,
  error: null,
  log: ['task queued']
};

export function progressEvent(
  hash: string,
  name: string,
  stage: IProgressEvent['stage'],
  done = 0,
  total: number | null = null,
  message: string | null = null
): IProgressEvent {
  return {
    task: QUEUED_TASK.id,
    hash,
    name,
    version: '1.0.0',
    stage,
    bytes_done: done,
    bytes_total: total,
    message,
    time: 1795311119.1
  };
}

export function record(
  name: string,
  hash: string,
  explicit: boolean,
  dependencies: string[] = [],
  installedAt = 1
): IInstalledRecord {
  return {
    hash,
    name,
    version: '1.0',
    prefix: `/opt/${name}-${hash}`,
    install_root: '/opt',
    target: 'x86_64',
    variants: { build_system: 'generic', shared: true },
    mirror: 'demo',
    explicit,
    installed_at: installedAt,
    dependencies
  };
}
