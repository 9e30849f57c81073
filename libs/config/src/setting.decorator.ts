import 'reflect-metadata';

export interface SettingOptions {
  /** Redacted whenever configuration is printed or logged. */
  secret?: boolean;
  /** One line for `kiroku config` and the settings table of docs/configuration.md. */
  description: string;
}

export interface SettingDefinition extends SettingOptions {
  /** The environment variable and config-file key: the contract name. */
  name: string;
  /** The property on the namespace class. */
  property: string;
}

const SETTINGS = Symbol('kiroku:settings');

/** Binds a namespace-class property to the setting named `name`. */
export function Setting(name: string, options: SettingOptions): PropertyDecorator {
  return (target, property) => {
    const ctor = target.constructor;
    const list = (Reflect.getOwnMetadata(SETTINGS, ctor) as SettingDefinition[] | undefined) ?? [];
    list.push({ name, property: String(property), ...options });
    Reflect.defineMetadata(SETTINGS, list, ctor);
  };
}

export function settingsOf(namespace: abstract new () => object): SettingDefinition[] {
  return (Reflect.getOwnMetadata(SETTINGS, namespace) as SettingDefinition[] | undefined) ?? [];
}
