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

/** The actions a hint points at, and its text with those commands replaced by words. */
export function panelHint(hint: string | null): IPanelHint {
  if (hint === null || hint.trim() === '') {
    return { text: null, actions: [] };
  }
  const actions: HintAction[] = [];
  const text = hint.replace(COMMAND, (whole, command: string) => {
    const words = command.trim().split(/\s+/);
    if (words[0] === 'keys' && words[1] === 'trust') {
      const at = words.indexOf('--mirror');
      const mirror = at >= 0 && at + 1 < words.length ? words[at + 1] : null;
      actions.push({
        kind: 'review-keys',
        mirror: mirror === 'NAME' ? null : mirror
      });
      return '“Review keys”';
    }
    if (words[0] === 'mirror' && words[1] === 'add') {
      actions.push({ kind: 'add-mirror' });
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
