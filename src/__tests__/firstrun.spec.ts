import { IFirstRun, IMirror, ITask } from '../api';
import { demoStep, offers } from '../model/firstrun';

const FIRST_RUN: IFirstRun = {
  presets: [
    {
      name: 'spack-public',
      url: 'https://binaries.spack.io/develop',
      title: "Spack's public build cache",
      description: 'signed',
      signed: true,
      refusal: null
    },
    {
      name: 'loose',
      url: 'https://loose.example.org/c',
      title: 'Loose cache',
      description: '',
      signed: false,
      refusal: 'this site does not allow unsigned mirrors'
    }
  ],
  demo: {
    name: 'demo',
    url: 'file:///home/u/.spackcache/demo-mirror',
    refusal: null,
    unavailable: null
  }
};

function mirror(name: string, url: string): IMirror {
  return {
    name,
    url,
    signed: true,
    origin: 'user',
    pinned_keys: [],
    layout: 'v3',
    nodes: 4
  };
}

describe('offers', () => {
  it('offers what the policy allows, and says in one line what it refuses', () => {
    const shown = offers(FIRST_RUN, [], true);
    expect(shown.forbidden).toBe(false);
    expect(shown.demo?.name).toBe('demo');
    expect(shown.presets.map(p => [p.preset.name, p.added])).toEqual([
      ['spack-public', false]
    ]);
    expect(shown.refused).toEqual([
      {
        title: 'Loose cache',
        reason: 'this site does not allow unsigned mirrors'
      }
    ]);
  });

  it('marks a preset whose URL is configured as added', () => {
    const mirrors = [mirror('mine', 'https://binaries.spack.io/develop')];
    const shown = offers(FIRST_RUN, mirrors, true);
    expect(shown.presets[0].added).toBe(true);
  });

  it('offers nothing and lists no refusals when users may not add mirrors', () => {
    const shown = offers(FIRST_RUN, [], false);
    expect(shown.forbidden).toBe(true);
    expect(shown.refused).toEqual([]);
  });

  it('hides the demo the site or its policy does not offer', () => {
    expect(offers({ ...FIRST_RUN, demo: null }, [], true).demo).toBeNull();
    const refused = offers(
      {
        ...FIRST_RUN,
        demo: {
          ...FIRST_RUN.demo!,
          refusal: 'this site does not allow file:// mirrors'
        }
      },
      [],
      true
    );
    expect(refused.demo).toBeNull();
    expect(refused.refused[0]).toEqual({
      title: null,
      reason: 'this site does not allow file:// mirrors'
    });
  });

  it('copes with an older server that sends no offers', () => {
    const shown = offers(undefined, [], true);
    expect(shown.presets).toEqual([]);
    expect(shown.demo).toBeNull();
  });
});

describe('demoStep', () => {
  const task = (log: string[]): ITask => ({
    id: 'abc',
    kind: 'demo-mirror',
    specs: [],
    kernel: false,
    install_root: '/home/u/.spackcache/demo-mirror',
    state: 'running',
    created: 0,
    started: 0,
    finished: null,
    nodes: [],
    bytes_done: 0,
    error: null,
    log
  });

  it('is the last thing the task said, not its state line', () => {
    expect(demoStep(null)).toBeNull();
    expect(demoStep(task(['task queued', 'task running']))).toBeNull();
    expect(
      demoStep(task(['task running', 'compiling the demo packages with gcc']))
    ).toBe('compiling the demo packages with gcc');
  });
});
