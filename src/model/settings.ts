/**
 * The panel's user settings (`schema/plugin.json`), read defensively: a
 * hand-edited value of the wrong type falls back to the default instead of
 * breaking the panel.
 */

/** The settings this plugin reads (see `schema/plugin.json`). */
export interface IPanelSettings {
  searchDebounce: number;
  pageSize: number;
  registerKernel: boolean;
  pollInterval: number;
  /** A hosted copy of the troubleshooting guide ("" = the copy shipped with the server). */
  troubleshootingUrl: string;
}

export const DEFAULT_SETTINGS: IPanelSettings = {
  searchDebounce: 300,
  pageSize: 25,
  registerKernel: false,
  pollInterval: 1000,
  troubleshootingUrl: ''
};

/** Read the composite settings, falling back to the defaults for anything odd. */
export function readSettings(
  composite: Readonly<Record<string, unknown>>
): IPanelSettings {
  const int = (value: unknown, fallback: number): number =>
    typeof value === 'number' && Number.isFinite(value) ? value : fallback;
  return {
    searchDebounce: int(
      composite.searchDebounce,
      DEFAULT_SETTINGS.searchDebounce
    ),
    pageSize: int(composite.pageSize, DEFAULT_SETTINGS.pageSize),
    registerKernel:
      typeof composite.registerKernel === 'boolean'
        ? composite.registerKernel
        : DEFAULT_SETTINGS.registerKernel,
    pollInterval: int(composite.pollInterval, DEFAULT_SETTINGS.pollInterval),
    troubleshootingUrl:
      typeof composite.troubleshootingUrl === 'string'
        ? composite.troubleshootingUrl.trim()
        : DEFAULT_SETTINGS.troubleshootingUrl
  };
}
