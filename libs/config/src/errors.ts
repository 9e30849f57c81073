export interface SettingProblem {
  /** The setting's contract name, e.g. `PORT`. */
  setting: string;
  /** What is wrong, phrased to follow the name: "must be …". */
  message: string;
  /** Where the offending value came from: `environment` or a config file. */
  source?: string;
}

/** Thrown when one or more settings are invalid; lists every problem at once. */
export class ConfigError extends Error {
  constructor(readonly problems: SettingProblem[]) {
    super(ConfigError.describe(problems));
    this.name = 'ConfigError';
  }

  static describe(problems: SettingProblem[]): string {
    const lines = problems.map((p) => `  ${p.setting}: ${p.message}${p.source ? ` (from ${p.source})` : ''}`);
    const noun = problems.length === 1 ? 'setting' : 'settings';
    return `Invalid configuration, ${problems.length} ${noun}:\n${lines.join('\n')}`;
  }
}

/** A setting whose value is well-formed but unusable on this machine (e.g. an unwritable path). */
export class InvalidSettingError extends ConfigError {
  constructor(setting: string, message: string) {
    super([{ setting, message }]);
  }
}
