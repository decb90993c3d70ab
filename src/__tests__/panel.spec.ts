/**
 * The sidebar panel renders what the status endpoint answers, or the error.
 */
import { ServerConnection } from '@jupyterlab/services';

import { PANEL_ID, SpackPanel } from '../panel';

function settingsReplying(
  status: number,
  body: string
): ServerConnection.ISettings {
  return ServerConnection.makeSettings({
    baseUrl: 'http://127.0.0.1:8888/',
    fetch: (async () => new Response(body, { status })) as typeof fetch
  });
}

function statusLine(panel: SpackPanel): HTMLElement {
  return panel.node.querySelector('.jp-SpackPanel-status') as HTMLElement;
}

describe('SpackPanel', () => {
  it('is a titled sidebar widget with its own icon', () => {
    const panel = new SpackPanel({ settings: settingsReplying(200, '{}') });
    expect(panel.id).toBe(PANEL_ID);
    expect(panel.title.label).toBe('Spack');
    expect(panel.title.icon).toBeTruthy();
  });

  it('shows the server version', async () => {
    const panel = new SpackPanel({
      settings: settingsReplying(200, '{"version": "1.2.3", "ok": true}')
    });
    await panel.refresh();
    expect(statusLine(panel).textContent).toBe('jupyter-spackcache 1.2.3');
    expect(statusLine(panel).dataset.state).toBe('ok');
  });

  it('reports a server that is not ready', async () => {
    const panel = new SpackPanel({
      settings: settingsReplying(200, '{"version": "1.2.3", "ok": false}')
    });
    await panel.refresh();
    expect(statusLine(panel).textContent).toBe(
      'jupyter-spackcache 1.2.3 (not ready)'
    );
    expect(statusLine(panel).dataset.state).toBe('error');
  });

  it('shows the error when the server extension is missing', async () => {
    const panel = new SpackPanel({
      settings: settingsReplying(404, '{"message": "Not Found"}')
    });
    await panel.refresh();
    expect(statusLine(panel).textContent).toBe(
      'Server extension unavailable: Not Found'
    );
    expect(statusLine(panel).dataset.state).toBe('error');
  });
});
