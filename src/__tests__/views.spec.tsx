/**
 * The plan and progress views rendered for real (React in jsdom): what the
 * user reads before confirming, and the bars and reason of a failed install.
 */
import { nullTranslator } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { InstallView } from '../components/InstallView';
import { InstalledView } from '../components/InstalledView';
import { PlanView } from '../components/PlanView';
import { applyProgress, applyTask, fromTask } from '../model/progress';
import { PLAN, QUEUED_TASK, progressEvent, record } from './fixtures';

const trans = nullTranslator.load('jupyter_spackcache');

async function render(element: JSX.Element): Promise<HTMLElement> {
  const widget = ReactWidget.create(element);
  Widget.attach(widget, document.body);
  await widget.renderPromise;
  return widget.node;
}

function texts(node: HTMLElement, selector: string): string[] {
  return Array.from(node.querySelectorAll(selector)).map(
    e => e.textContent ?? ''
  );
}

/** A plan row's first line: its text without the path line under it. */
function heads(node: HTMLElement, selector: string): string[] {
  return Array.from(node.querySelectorAll(selector)).map(e => {
    const path = e.querySelector('.jp-SpackPanel-nodePath')?.textContent ?? '';
    return (e.textContent ?? '').replace(path, '');
  });
}

/** The path lines of a plan group: label, path (marks stripped), tooltip. */
function paths(node: HTMLElement, selector: string): string[][] {
  return Array.from(
    node.querySelectorAll(`${selector} .jp-SpackPanel-nodePath`)
  ).map(e => [
    e.getAttribute('data-place') ?? '',
    (e.querySelector('.jp-SpackPanel-pathText')?.textContent ?? '').replace(
      /\u200e/g,
      ''
    ),
    e.getAttribute('title') ?? ''
  ]);
}

describe('PlanView', () => {
  it('shows downloads with sizes, reuse, system packages and the checks', async () => {
    const node = await render(
      <PlanView
        pending={{
          specs: ['demo-tool@1.0.0/xtcna5sqmspfwhsqofejvizyfrighmlk'],
          plan: { value: PLAN, loading: false, error: null }
        }}
        kernel={false}
        onKernel={() => undefined}
        onConfirm={() => undefined}
        onDismiss={() => undefined}
        trans={trans}
      />
    );
    expect(node.querySelector('.jp-SpackPanel-planTitle')?.textContent).toBe(
      'Plan for demo-tool@1.0.0/xtcna5s'
    );
    expect(node.querySelector('.jp-SpackPanel-planTotal')?.textContent).toBe(
      'Download 2 packages, 7.4 KB, into /tmp/sch1/opt'
    );
    expect(heads(node, '[data-action="download"] li')).toEqual([
      // name, then what it is built for and where it comes from, then its size
      'demo-tool@1.0.0/xtcna5sx86_64 · demorequested4.0 KB',
      'libdemo-mid@2.0.1/4pbmksgx86_64 · demo3.4 KB'
    ]);
    expect(heads(node, '[data-action="reuse"] li')).toEqual([
      'libdemo-base@1.2.0/chafrhux86_64 · demo'
    ]);
    expect(heads(node, '[data-action="external"] li')).toEqual([
      'glibc@2.36/7f2zo3bx86_64' // the system's: no mirror
    ]);
    // each package says where it goes, below the install root, full path on hover
    expect(paths(node, '[data-action="download"]')).toEqual([
      [
        'new',
        'linux-x86_64/demo-tool-1.0.0-xtcna5s',
        'Will be installed to /tmp/sch1/opt/linux-x86_64/demo-tool-1.0.0-xtcna5s'
      ],
      [
        'new',
        'linux-x86_64/libdemo-mid-2.0.1-4pbmksg',
        'Will be installed to /tmp/sch1/opt/linux-x86_64/libdemo-mid-2.0.1-4pbmksg'
      ]
    ]);
    expect(paths(node, '[data-action="reuse"]')).toEqual([
      [
        'installed',
        'linux-x86_64/libdemo-base-1.2.0-chafrhu',
        'Already installed in /tmp/sch1/opt/linux-x86_64/libdemo-base-1.2.0-chafrhu'
      ]
    ]);
    // the fixture's glibc has no prefix: no path line rather than a blank one
    expect(paths(node, '[data-action="external"]')).toEqual([]);
    expect(texts(node, '.jp-SpackPanel-checks li')).toHaveLength(2);
    const confirm = node.querySelector<HTMLButtonElement>(
      '.jp-SpackPanel-confirm'
    );
    expect(confirm?.disabled).toBe(false);
  });

  it('disables Confirm and shows the hint when a precheck fails', async () => {
    const checks = [
      {
        name: 'space',
        ok: false,
        message: '1 MB free, about 9 MB needed',
        hint: 'free some space'
      }
    ];
    const node = await render(
      <PlanView
        pending={{
          specs: ['x'],
          plan: {
            value: { ...PLAN, ok: false, checks },
            loading: false,
            error: null
          }
        }}
        kernel={false}
        onKernel={() => undefined}
        onConfirm={() => undefined}
        onDismiss={() => undefined}
        trans={trans}
      />
    );
    expect(
      texts(node, '.jp-SpackPanel-checks li[data-ok="false"]')[0]
    ).toContain('free some space');
    expect(
      node.querySelector<HTMLButtonElement>('.jp-SpackPanel-confirm')?.disabled
    ).toBe(true);
  });
});

describe('PlanView paths', () => {
  it('names the shared tree a reused package comes from, and the system path', async () => {
    const nodes = PLAN.nodes.map(n =>
      n.name === 'libdemo-base'
        ? {
            ...n,
            prefix: '/apps/spack/opt/linux-x86_64/libdemo-base-1.2.0-chafrhu',
            mirror: 'upstream:/apps/spack/opt',
            upstream: '/apps/spack/opt'
          }
        : n.name === 'glibc'
          ? { ...n, prefix: '/usr' }
          : n
    );
    const node = await render(
      <PlanView
        pending={{
          specs: ['demo-tool'],
          plan: { value: { ...PLAN, nodes }, loading: false, error: null }
        }}
        kernel={false}
        onKernel={() => undefined}
        onConfirm={() => undefined}
        onDismiss={() => undefined}
        trans={trans}
      />
    );
    expect(paths(node, '[data-action="reuse"]')).toEqual([
      [
        'upstream',
        '/apps/spack/opt/linux-x86_64/libdemo-base-1.2.0-chafrhu',
        'Provided by the shared, read-only Spack tree /apps/spack/opt, at ' +
          '/apps/spack/opt/linux-x86_64/libdemo-base-1.2.0-chafrhu'
      ]
    ]);
    // the shared tree's long name is not repeated in the first line
    expect(heads(node, '[data-action="reuse"] li')).toEqual([
      'libdemo-base@1.2.0/chafrhux86_64'
    ]);
    expect(paths(node, '[data-action="external"]')).toEqual([
      ['system', '/usr', 'Provided by the system at /usr']
    ]);
    const copy = node.querySelectorAll('.jp-SpackPanel-copyPath');
    expect(copy).toHaveLength(4);
    expect(copy[0].getAttribute('title')).toBe(
      'Copy /tmp/sch1/opt/linux-x86_64/demo-tool-1.0.0-xtcna5s'
    );
  });
});

describe('InstallView', () => {
  it('shows a failure once, with its hint, and the bar where it stopped', async () => {
    let p = fromTask({ ...QUEUED_TASK, state: 'running' });
    p = applyProgress(p, progressEvent('a', 'liba', 'verify', 10, 10));
    p = applyProgress(
      p,
      progressEvent('a', 'liba', 'failed', 0, null, 'sha256 mismatch')
    );
    p = applyTask(p, {
      ...QUEUED_TASK,
      state: 'failed',
      error: {
        code: 'integrity',
        message: 'sha256 mismatch',
        hint: 'report it'
      },
      nodes: [
        {
          hash: 'a',
          name: 'liba',
          version: '1.0.0',
          stage: 'failed',
          bytes_done: 0,
          bytes_total: 10
        }
      ]
    });
    const node = await render(
      <InstallView
        progress={p}
        polling={false}
        onCancel={() => undefined}
        onClose={() => undefined}
        trans={trans}
      />
    );
    expect(node.querySelector('[data-state="failed"]')).not.toBeNull();
    expect(texts(node, '.jp-SpackPanel-errorMessage')).toEqual([
      'sha256 mismatch'
    ]);
    expect(texts(node, '.jp-SpackPanel-hint')).toEqual(['report it']);
    const bar = node.querySelector('.jp-SpackPanel-node .jp-SpackPanel-bar');
    expect(bar?.getAttribute('aria-valuenow')).toBe('70');
    expect(node.querySelector('.jp-SpackPanel-cancel')).toBeNull();
  });
});

describe('InstalledView', () => {
  it('names the module to load in a terminal or a batch job', async () => {
    const tool = { ...record('tool', 't', true, ['b']), module: 'tool/1.0' };
    const base = { ...record('libbase', 'b', false), module: null };
    const node = await render(
      <InstalledView
        installed={{ value: [tool, base], loading: false, error: null }}
        onUninstall={() => undefined}
        onKernel={() => undefined}
        onGc={() => undefined}
        trans={trans}
      />
    );
    expect(texts(node, '.jp-SpackPanel-module')).toEqual([
      'module load tool/1.0'
    ]);
    const row = node.querySelector('[data-package="tool"]');
    expect(row?.textContent).toContain('module load tool/1.0');
  });
});

describe('InstalledView groups', () => {
  it('puts applications apart from libraries, each saying what it is', async () => {
    const tool = {
      ...record('tool', 't', true, ['m']),
      description: 'A tool that does things.'
    };
    const mid = { ...record('libmid', 'm', false, ['b']), description: null };
    const base = {
      ...record('libbase', 'b', false),
      description: 'The base library.'
    };
    const leftover = record('leftover', 'l', false);
    const node = await render(
      <InstalledView
        installed={{
          value: [base, mid, tool, leftover],
          loading: false,
          error: null
        }}
        onUninstall={() => undefined}
        onKernel={() => undefined}
        onGc={() => undefined}
        trans={trans}
      />
    );
    const apps = node.querySelector<HTMLElement>(
      '[data-group="applications"]'
    )!;
    const libs = node.querySelector<HTMLElement>('[data-group="libraries"]')!;
    expect(apps.querySelector('.jp-SpackPanel-groupTitle')?.textContent).toBe(
      'Applications 1'
    );
    expect(
      Array.from(apps.querySelectorAll(':scope ul > li')).map(li =>
        li.getAttribute('data-package')
      )
    ).toEqual(['tool']);
    expect(texts(apps, ':scope ul > li > .jp-SpackPanel-description')).toEqual([
      'A tool that does things.'
    ]);
    expect(libs.querySelector('.jp-SpackPanel-groupTitle')?.textContent).toBe(
      'Libraries and dependencies 3'
    );
    expect(
      Array.from(libs.querySelectorAll('.jp-SpackPanel-libraryList > li')).map(
        li => li.getAttribute('data-package')
      )
    ).toEqual(['libbase', 'libmid']);
    expect(texts(libs, '.jp-SpackPanel-neededBy')).toEqual([
      'needed by tool',
      'needed by tool'
    ]);
    // a library without a description gets no empty line
    expect(
      libs.querySelector('[data-package="libmid"] .jp-SpackPanel-description')
    ).toBeNull();
    // only what nothing needs can be uninstalled from the libraries group
    expect(
      texts(libs, '.jp-SpackPanel-orphans [data-package]').map(t =>
        t.startsWith('leftover@')
      )
    ).toEqual([true]);
    expect(libs.querySelectorAll('.jp-SpackPanel-uninstall')).toHaveLength(1);
    expect(
      node.querySelector<HTMLButtonElement>('.jp-SpackPanel-gc')?.disabled
    ).toBe(false);
  });
});

describe('InstalledView filter', () => {
  it('filters both groups and keeps gc for what nothing needs', async () => {
    const tool = record('tool', 't', true, ['m']);
    const mid = record('libmid', 'm', false, ['b']);
    const base = record('libbase', 'b', false);
    const others = Array.from({ length: 6 }, (_, i) =>
      record(`app${i}`, `a${i}`, true)
    );
    const leftover = record('leftover', 'l', false);
    const node = await render(
      <InstalledView
        installed={{
          value: [tool, mid, base, leftover, ...others],
          loading: false,
          error: null
        }}
        onUninstall={() => undefined}
        onKernel={() => undefined}
        onGc={() => undefined}
        trans={trans}
      />
    );
    const input = node.querySelector<HTMLInputElement>(
      '.jp-SpackPanel-installedFilter input'
    )!;
    const setValue = Object.getOwnPropertyDescriptor(
      HTMLInputElement.prototype,
      'value'
    )!.set!;
    setValue.call(input, 'libmid');
    input.dispatchEvent(new Event('input', { bubbles: true }));
    await new Promise(resolve => setTimeout(resolve, 0));
    const shown = (selector: string) =>
      Array.from(node.querySelectorAll(selector)).map(e =>
        e.getAttribute('data-package')
      );
    expect(node.querySelector('[data-group="applications"]')).toBeNull();
    expect(shown('.jp-SpackPanel-libraryList > li')).toEqual(['libmid']);
    expect(node.querySelector('.jp-SpackPanel-orphans')).toBeNull();
    // the leftover is filtered out of view, yet gc still has it to remove
    expect(
      node.querySelector<HTMLButtonElement>('.jp-SpackPanel-gc')?.disabled
    ).toBe(false);

    setValue.call(input, 'nothing-like-this');
    input.dispatchEvent(new Event('input', { bubbles: true }));
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(node.textContent).toContain(
      'No installed package matches the filter.'
    );
  });
});
