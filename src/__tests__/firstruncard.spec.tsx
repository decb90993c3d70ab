/**
 * The first-run card rendered for real (React in jsdom): what it offers,
 * what it refuses and why, and what it says while the demo is built.
 */
import { nullTranslator } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { IFirstRun, IMirrorPreset } from '../api';
import { FirstRunCard } from '../components/FirstRunCard';
import { IDLE_FIRST_RUN, IFirstRunState } from '../model/firstrun';
import { QUEUED_TASK } from './fixtures';

const trans = nullTranslator.load('jupyter_spackcache');

const PUBLIC: IMirrorPreset = {
  name: 'spack-public',
  url: 'https://binaries.spack.io/develop',
  title: "Spack's public build cache",
  description: 'Signed binaries of the develop branch.',
  signed: true,
  refusal: null
};

function offers(unavailable: string | null = null): IFirstRun {
  return {
    presets: [PUBLIC],
    demo: {
      name: 'demo',
      url: 'file:///home/u/.spackcache/demo-mirror',
      refusal: null,
      unavailable
    }
  };
}

async function render(
  firstRun: IFirstRun,
  options: {
    userMirrors?: boolean;
    state?: IFirstRunState;
    onPreset?: (p: IMirrorPreset) => void;
    compact?: boolean;
  } = {}
): Promise<HTMLElement> {
  const widget = ReactWidget.create(
    <FirstRunCard
      firstRun={firstRun}
      mirrors={[]}
      userMirrors={options.userMirrors ?? true}
      state={options.state ?? IDLE_FIRST_RUN}
      onDemo={() => undefined}
      onPreset={options.onPreset ?? (() => undefined)}
      onEnterUrl={() => undefined}
      compact={options.compact}
      trans={trans}
    />
  );
  Widget.attach(widget, document.body);
  await widget.renderPromise;
  return widget.node;
}

function texts(node: HTMLElement, selector: string): string[] {
  return Array.from(node.querySelectorAll(selector)).map(
    e => e.textContent ?? ''
  );
}

describe('FirstRunCard', () => {
  it('offers the demo, the presets and a URL, each as a button', async () => {
    const picked: string[] = [];
    const node = await render(offers(), { onPreset: p => picked.push(p.name) });
    const buttons = Array.from(node.querySelectorAll('button')).map(
      b => b.textContent
    );
    expect(buttons).toEqual([
      'Add the demo mirror',
      "Add Spack's public build cache",
      'Enter a URL…'
    ]);
    node.querySelector<HTMLButtonElement>('.jp-SpackPanel-addPreset')!.click();
    expect(picked).toEqual(['spack-public']);
  });

  it('disables the demo without gcc, with the reason as its tooltip', async () => {
    const node = await render(offers('gcc is not installed on this server'));
    const demo = node.querySelector<HTMLButtonElement>(
      '.jp-SpackPanel-addDemo'
    )!;
    expect(demo.disabled).toBe(true);
    expect(demo.dataset.why).toContain('gcc is not installed on this server');
    expect(demo.parentElement?.title).toContain('ask your administrator');
  });

  it('says the site forbids adding mirrors, and offers nothing', async () => {
    const node = await render(offers(), { userMirrors: false });
    expect(node.querySelectorAll('button')).toHaveLength(0);
    expect(
      node.querySelector('.jp-SpackPanel-firstRunForbidden')?.textContent
    ).toBe('Your site does not allow adding mirrors; ask your administrator.');
  });

  it('says what the demo task is doing while it runs', async () => {
    const task = {
      ...QUEUED_TASK,
      kind: 'demo-mirror' as const,
      state: 'running' as const,
      log: ['task running', 'compiling the demo packages with gcc']
    };
    const node = await render(offers(), {
      state: { busy: 'demo', task, error: null }
    });
    expect(node.querySelector('.jp-SpackPanel-offerStep')?.textContent).toBe(
      'Building the demo mirror… compiling the demo packages with gcc'
    );
    expect(
      node.querySelector<HTMLButtonElement>('.jp-SpackPanel-addPreset')!
        .disabled
    ).toBe(true);
  });

  it('is one line in the Mirrors section until opened, without the demo', async () => {
    const node = await render(offers(), { compact: true });
    const toggle = node.querySelector<HTMLButtonElement>(
      '.jp-SpackPanel-suggestedToggle'
    )!;
    expect(toggle.textContent).toBe('▸ Suggested by your site (0 of 1 added)');
    expect(node.querySelector('.jp-SpackPanel-offers')).toBeNull();
    toggle.click();
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(texts(node, '.jp-SpackPanel-offer strong')).toEqual([
      "Spack's public build cache"
    ]);
    const forbidden = await render(offers(), {
      compact: true,
      userMirrors: false
    });
    expect(forbidden.textContent).toBe('');
  });
});
