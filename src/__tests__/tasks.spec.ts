import { ITask, TaskEvent } from '../api';
import { ITaskTransport, TaskTracker } from '../model/tasks';
import { QUEUED_TASK, progressEvent } from './fixtures';

const RUNNING: ITask = { ...QUEUED_TASK, state: 'running' };
const DONE: ITask = {
  ...QUEUED_TASK,
  state: 'done',
  nodes: [
    {
      hash: 'a',
      name: 'liba',
      version: '1',
      stage: 'done',
      bytes_done: 0,
      bytes_total: 10
    }
  ]
};

describe('TaskTracker', () => {
  it('follows the event stream to the end and confirms with one GET', async () => {
    const seen: Array<number | null> = [];
    const transport: ITaskTransport = {
      fetch: jest.fn(async () => DONE),
      stream: async (id, onEvent, options) => {
        seen.push(options.lastEventId);
        const events: TaskEvent[] = [
          { kind: 'task', id: 1, task: RUNNING },
          {
            kind: 'progress',
            id: 2,
            progress: progressEvent('a', 'liba', 'download', 5, 10)
          },
          { kind: 'task', id: 3, task: DONE }
        ];
        events.forEach(onEvent);
      }
    };
    const tracker = new TaskTracker(transport, QUEUED_TASK, { pollMs: 1 });
    const states: string[] = [];
    tracker.changed.connect((_, p) => states.push(p.state));
    const final = await tracker.follow();
    expect(final.state).toBe('done');
    expect(states).toEqual(['running', 'running', 'done', 'done']);
    expect(seen).toEqual([null]);
    expect(transport.fetch).toHaveBeenCalledTimes(1);
    expect(tracker.polling).toBe(false);
  });

  it('resumes a dropped stream after the last event, then falls back to polling', async () => {
    const resumedFrom: Array<number | null> = [];
    let polls = 0;
    const transport: ITaskTransport = {
      fetch: async () => (++polls >= 4 ? DONE : RUNNING),
      stream: async (id, onEvent, options) => {
        resumedFrom.push(options.lastEventId);
        onEvent({
          kind: 'progress',
          id: 10 + resumedFrom.length,
          progress: progressEvent('a', 'liba', 'download', 1, 10)
        });
        throw new Error('connection reset');
      }
    };
    const tracker = new TaskTracker(transport, RUNNING, {
      pollMs: 1,
      maxStreamFailures: 2
    });
    const final = await tracker.follow();
    expect(resumedFrom).toEqual([null, 11]);
    expect(tracker.polling).toBe(true);
    expect(final.state).toBe('done');
    expect(polls).toBe(4);
  });

  it('stops without waiting for the task', async () => {
    const transport: ITaskTransport = {
      fetch: async () => RUNNING,
      stream: (id, onEvent, options) =>
        new Promise((_, reject) =>
          options.signal.addEventListener('abort', () =>
            reject(new Error('aborted'))
          )
        )
    };
    const tracker = new TaskTracker(transport, RUNNING, { pollMs: 1 });
    const following = tracker.follow();
    tracker.stop();
    await expect(following).resolves.toMatchObject({ state: 'running' });
  });
});
