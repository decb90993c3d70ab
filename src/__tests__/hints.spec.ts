import { documented, panelHint } from '../model/hints';
import { readSettings } from '../model/settings';

describe('panelHint', () => {
  it('turns a keys-trust command into a Review keys action for that mirror', () => {
    const hint = panelHint(
      "trust the mirror's key with `spackcache keys trust --mirror peer`"
    );
    expect(hint.actions).toEqual([{ kind: 'review-keys', mirror: 'peer' }]);
    expect(hint.text).toBe("trust the mirror's key with “Review keys”");
  });

  it('knows Add mirror and --dependents, and keeps other commands', () => {
    expect(
      panelHint('add one with `spackcache mirror add NAME URL`').actions
    ).toEqual([{ kind: 'add-mirror' }]);
    const deps = panelHint(
      'uninstall those first, or pass --dependents to remove them too'
    );
    expect(deps.actions).toEqual([{ kind: 'dependents' }]);
    expect(deps.text).toBe('uninstall those first, or uninstall them too');
    const other = panelHint('run `spackcache push --help`');
    expect(other.actions).toEqual([]);
    expect(other.text).toBe('run `spackcache push --help`');
    expect(panelHint(null)).toEqual({ text: null, actions: [] });
  });

  it('says press, not run, for a button', () => {
    expect(
      panelHint('check the key, then run `spackcache keys trust --mirror demo`')
        .text
    ).toBe('check the key, then press “Review keys”');
  });

  it('a placeholder mirror name opens every untrusted mirror', () => {
    expect(
      panelHint('run `spackcache keys trust --mirror NAME`').actions
    ).toEqual([{ kind: 'review-keys', mirror: null }]);
  });
});

describe('errorActions', () => {
  it('offers Review keys for an untrusted signer, for the mirror named', () => {
    const hint = panelHint(
      "see the troubleshooting guide, section 'signature'",
      'signature',
      "the metadata of x from mirror 'demo': signed by key AB, which is not in the trusted keyring"
    );
    expect(hint).toEqual({
      text: null, // the section is linked instead
      actions: [{ kind: 'review-keys', mirror: 'demo' }]
    });
  });

  it('offers Add mirror when none is configured, nothing for other errors', () => {
    expect(
      panelHint(null, 'config', 'no mirror is configured').actions
    ).toEqual([{ kind: 'add-mirror' }]);
    expect(panelHint('retry', 'install', 'disk full').actions).toEqual([]);
  });
});

describe('documented', () => {
  it('links server error codes, not the panel’s own', () => {
    expect(documented('signature')).toBe(true);
    expect(documented('network')).toBe(false);
    expect(documented('notice')).toBe(false);
  });
});

describe('troubleshootingUrl setting', () => {
  it('is a trimmed string, empty by default', () => {
    expect(readSettings({}).troubleshootingUrl).toBe('');
    expect(
      readSettings({ troubleshootingUrl: ' https://docs.example/t ' })
        .troubleshootingUrl
    ).toBe('https://docs.example/t');
    expect(readSettings({ troubleshootingUrl: 3 }).troubleshootingUrl).toBe('');
  });
});
