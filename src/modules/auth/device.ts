import Bowser from 'bowser';

/** A signed-in device as a person recognises it: "Firefox 133", "Windows 10"; null where the User-Agent says nothing known. */
export interface Device {
  browser: string | null;
  os: string | null;
}

/**
 * The browser and operating system a session's User-Agent names, read by bowser (MIT, kept, no dependencies;
 * ua-parser-js 2 is AGPL and its MIT 1.x line is the old one). Only the major version: the rest is noise here.
 */
export function deviceOf(userAgent: string): Device {
  if (!userAgent.trim()) return { browser: null, os: null }; // bowser refuses an empty string
  const { browser, os } = Bowser.parse(userAgent);
  const major = browser.version?.split('.')[0];
  return {
    browser: browser.name ? [browser.name, major].filter(Boolean).join(' ') : null,
    os: os.name ? [os.name, osVersion(os)].filter(Boolean).join(' ') : null,
  };
}

/** Windows by its marketing name (NT 10.0 is "10"), phones by their version; macOS and Linux User-Agents carry none worth showing (macOS is frozen at 10.15). */
function osVersion(os: { name?: string; version?: string; versionName?: string }): string | undefined {
  if (os.name === 'Windows') return os.versionName;
  if (os.name === 'iOS' || os.name === 'Android') return os.version?.split('.').slice(0, 2).join('.');
  return undefined;
}
