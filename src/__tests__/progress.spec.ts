import {
  applyProgress,
  applyTask,
  fromTask,
  overall,
  stageFraction
} from '../model/progress';
import { QUEUED_TASK, progressEvent } from './fixtures';

const A = 'aaaaaaa';
const B = 'bbbbbbb';

describe('stageFraction', () => {
  it('fills the download share by bytes, then steps through the stages', () => {
    expect(stageFraction('queued', 0, 100)).toBe(0);
    expect(stageFraction('download', 50, 100)).toBeCloseTo(0.35);
    expect(stageFraction('download', 500, 100)).toBeCloseTo(0.7);
    expect(stageFraction('download', 10, null)).toBe(0);
    expect(stageFraction('verify', 0, null)).toBeCloseTo(0.7);
    expect(stageFraction('relocate', 0, null)).toBeCloseTo(0.9);
    expect(stageFraction('done', 0, null)).toBe(1);
  });
});

describe('progress reduction', () => {
  it('folds the real event sequence of an install into bars', () => {
    let p = fromTask(QUEUED_TASK);
    p = applyTask(p, { ...QUEUED_TASK, state: 'running' }, 2);
    const events = [
      progressEvent('g', 'glibc', 'external'),
      progressEvent(A, 'liba', 'queued', 0, 1000),
      progressEvent(B, 'tool', 'queued', 0, 3000),
      progressEvent(A, 'liba', 'download', 500, 1000),
      progressEvent(B, 'tool', 'download', 3000, 3000)
    ];
    events.forEach((e, i) => {
      p = applyProgress(p, e, 3 + i);
    });
    expect(p.lastEventId).toBe(7);
    expect(p.bars.map(b => [b.name, b.stage])).toEqual([
      ['glibc', 'external'],
      ['liba', 'download'],
      ['tool', 'download']
    ]);
    const mid = overall(p);
    // glibc is free; liba is 35% of 1000 bytes, tool 70% of 3000
    expect(mid.packages).toBe(2);
    expect(mid.fraction).toBeCloseTo((0.35 * 1000 + 0.7 * 3000) / 4000);
    expect(mid.downloaded).toBe(3500);
    expect(mid.downloadTotal).toBe(4000);

    // extract events carry no total: the size is kept, and the bytes count as downloaded
    p = applyProgress(p, progressEvent(A, 'liba', 'extract', 0, null), 8);
    expect(p.bars[1].size).toBe(1000);
    expect(p.bars[1].downloaded).toBe(1000);
    // unpacked, waiting for its dependencies: past extraction, before relocation
    p = applyProgress(p, progressEvent(A, 'liba', 'unpacked', 1000, 1000), 9);
    expect(p.bars[1].stage).toBe('unpacked');
    expect(p.bars[1].fraction).toBeCloseTo(0.85);
    expect(p.bars[1].downloaded).toBe(1000);
    p = applyProgress(p, progressEvent(A, 'liba', 'done'), 9);
    p = applyProgress(p, progressEvent(B, 'tool', 'done'), 10);
    expect(overall(p).finished).toBe(2);
    expect(overall(p).fraction).toBe(1);
  });

  it('keeps a failed bar where it stopped, with its reason', () => {
    let p = fromTask({ ...QUEUED_TASK, state: 'running' });
    p = applyProgress(p, progressEvent(A, 'liba', 'verify', 1000, 1000));
    p = applyProgress(
      p,
      progressEvent(A, 'liba', 'failed', 0, null, 'sha256 mismatch for liba')
    );
    expect(p.bars[0].fraction).toBeCloseTo(0.7);
    expect(p.bars[0].message).toBe('sha256 mismatch for liba');
    // the final snapshot carries the task error and keeps the event's message
    const error = {
      code: 'integrity',
      message: 'sha256 mismatch',
      hint: 'report it'
    };
    p = applyTask(p, {
      ...QUEUED_TASK,
      state: 'failed',
      error,
      nodes: [
        {
          hash: A,
          name: 'liba',
          version: '1',
          stage: 'failed',
          bytes_done: 0,
          bytes_total: 1000
        }
      ]
    });
    expect(p.state).toBe('failed');
    expect(p.error).toEqual(error);
    expect(p.bars[0].message).toBe('sha256 mismatch for liba');
    expect(p.bars[0].fraction).toBeCloseTo(0.7);
  });

  it('ignores events and snapshots of other tasks', () => {
    const p = fromTask(QUEUED_TASK);
    const other = { ...progressEvent(A, 'liba', 'done'), task: 'other' };
    expect(applyProgress(p, other)).toBe(p);
    expect(applyTask(p, { ...QUEUED_TASK, id: 'other' })).toBe(p);
  });

  it('weighs unknown sizes as the mean and reports the total as unknown', () => {
    let p = fromTask({ ...QUEUED_TASK, state: 'running' });
    p = applyProgress(p, progressEvent(A, 'liba', 'done', 0, 1000));
    p = applyProgress(p, progressEvent(B, 'tool', 'queued', 0, null));
    const o = overall(p);
    expect(o.fraction).toBeCloseTo(0.5);
    expect(o.downloadTotal).toBeNull();
  });

  it('is complete when a task finishes with nothing to download', () => {
    const p = fromTask({
      ...QUEUED_TASK,
      state: 'done',
      nodes: [
        {
          hash: A,
          name: 'liba',
          version: '1',
          stage: 'reused',
          bytes_done: 0,
          bytes_total: null
        }
      ]
    });
    expect(overall(p)).toEqual({
      fraction: 1,
      downloaded: 0,
      downloadTotal: 0,
      packages: 0,
      finished: 0
    });
  });
});

describe('whole-install notes', () => {
  it('keeps messages of events without a package (the kernel line)', () => {
    let p = fromTask({ ...QUEUED_TASK, state: 'running' });
    p = applyProgress(p, {
      ...progressEvent('', 'kernel', 'done'),
      message: "kernel 'spack-x' ready"
    });
    p = applyProgress(p, progressEvent('', 'kernel', 'done'));
    expect(p.notes).toEqual(["kernel 'spack-x' ready"]);
    expect(p.bars).toEqual([]);
  });
});
