/**
 * Hints as things to click. The server's hints are written for a terminal
 * (`spackcache keys trust --mirror peer`); in the panel the same next step is
 * a button, and the command is left out of the text.
 */

export type HintAction =
  | { kind: 'review-keys'; mirror: string | null }
  | { kind: 'add-mirror' }
  | { kind: 'dependents' };

export interface IPanelHint {
  /** The hint without the terminal commands the actions replace (null when nothing is left). */
  text: string | null;
  actions: HintAction[];
}

/** Error codes made by the panel itself: they have no troubleshooting section. */
const LOCAL_CODES = new Set(['notice', 'network', 'internal', 'http', 'host']);

/** Whether the troubleshooting guide has a section for `code`. */
export function documented(code: string): boolean {
  return !LOCAL_CODES.has(code);
}

const COMMAND = /`spackcache ([^`]*)`/g;

/** "see the troubleshooting guide, section 'x'": the panel links the section instead. */
const GUIDE = /^\s*see the troubleshooting guide, section '[^']*'\s*$/;

/**
 * The actions an error points at, from its code and message (the REST API
 * leaves terminal commands out of its hints), and from commands in its hint.
 */
export function errorActions(code: string, message: string): HintAction[] {
  if (code === 'signature' && /trust|key/i.test(message)) {
    const mirror = /mirror '([^']+)'/.exec(message);
    return [{ kind: 'review-keys', mirror: mirror ? mirror[1] : null }];
  }
  if (/no mirror (is )?configured/i.test(message)) {
    return [{ kind: 'add-mirror' }];
  }
  return [];
}

/** The actions a hint points at, and its text with those commands replaced by words. */
export function panelHint(
  hint: string | null,
  code: string | null = null,
  message = ''
): IPanelHint {
  const actions: HintAction[] =
    code !== null ? errorActions(code, message) : [];
  if (hint === null || hint.trim() === '' || GUIDE.test(hint)) {
    return { text: null, actions };
  }
  const text = hint.replace(COMMAND, (whole, command: string) => {
    const words = command.trim().split(/\s+/);
    if (words[0] === 'keys' && words[1] === 'trust') {
      const at = words.indexOf('--mirror');
      const mirror = at >= 0 && at + 1 < words.length ? words[at + 1] : null;
      if (!actions.some(a => a.kind === 'review-keys')) {
        actions.push({
          kind: 'review-keys',
          mirror: mirror === 'NAME' ? null : mirror
        });
      }
      return '“Review keys”';
    }
    if (words[0] === 'mirror' && words[1] === 'add') {
      if (!actions.some(a => a.kind === 'add-mirror')) {
        actions.push({ kind: 'add-mirror' });
      }
      return '“Add mirror”';
    }
    return whole;
  });
  if (/--dependents\b/.test(text)) {
    actions.push({ kind: 'dependents' });
  }
  const cleaned = text
    .replace(/pass --dependents to remove them too/, 'uninstall them too')
    .replace(/\brun (“[^”]+”)/g, 'press $1')
    .trim();
  return { text: cleaned || null, actions };
}
