// Settings: scorpio.toml, then SCORPIO_* environment variables, then flags (docs/config.md).
export {
  configCandidates,
  loadSettings,
  mergeSettings,
  readConfigFile,
  settingsFromEnv,
  SETTINGS_KEYS,
} from './settings.ts'
export type { LoadedSettings, LoadSettingsOptions, Settings, UserSettings } from './settings.ts'
