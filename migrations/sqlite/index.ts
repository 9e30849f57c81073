// Every SQLite migration, oldest first. Listed by hand: a file that is not here does not run.
import { CreateFoundationTables1795901079716 } from './1795901079716-CreateFoundationTables';
import { CreateAccountTables1795902800728 } from './1795902800728-CreateAccountTables';
import { CreateNotesTables1795904940286 } from './1795904940286-CreateNotesTables';
import { CreateBackupRuns1795910400000 } from './1795910400000-CreateBackupRuns';
import { CreateMonitoringTables1795920000000 } from './1795920000000-CreateMonitoringTables';
import { AddOwnerToNoteSearch1795930000000 } from './1795930000000-AddOwnerToNoteSearch';
import { AddTagNamesToNotes1795940000000 } from './1795940000000-AddTagNamesToNotes';
import { NumberSearchEntriesNewestFirst1795950000000 } from './1795950000000-NumberSearchEntriesNewestFirst';
import { AddWorkersToInstances1795960000000 } from './1795960000000-AddWorkersToInstances';
import { AddNoteVersionsAndRevisions1795970000000 } from './1795970000000-AddNoteVersionsAndRevisions';
import { AddPinnedToNotes1795980000000 } from './1795980000000-AddPinnedToNotes';
import { RetokeniseSearchIndex1795992100000 } from './1795992100000-RetokeniseSearchIndex';
import { AddThemeToUsers1795995000000 } from './1795995000000-AddThemeToUsers';
import { CreateAccountLinks1795996000000 } from './1795996000000-CreateAccountLinks';
import { AddTeamVisibility1796000000000 } from './1796000000000-AddTeamVisibility';
import { SearchTitlesApart1796100000000 } from './1796100000000-SearchTitlesApart';
import { MergeSearchIndexEightAtATime1796200000000 } from './1796200000000-MergeSearchIndexEightAtATime';
import { CreateNotesInOneCall1796300000000 } from './1796300000000-CreateNotesInOneCall';

export const sqliteMigrations = [
  CreateFoundationTables1795901079716,
  CreateAccountTables1795902800728,
  CreateNotesTables1795904940286,
  CreateBackupRuns1795910400000,
  CreateMonitoringTables1795920000000,
  AddOwnerToNoteSearch1795930000000,
  AddTagNamesToNotes1795940000000,
  NumberSearchEntriesNewestFirst1795950000000,
  AddWorkersToInstances1795960000000,
  AddNoteVersionsAndRevisions1795970000000,
  AddPinnedToNotes1795980000000,
  RetokeniseSearchIndex1795992100000,
  AddThemeToUsers1795995000000,
  CreateAccountLinks1795996000000,
  AddTeamVisibility1796000000000,
  SearchTitlesApart1796100000000,
  MergeSearchIndexEightAtATime1796200000000,
  CreateNotesInOneCall1796300000000,
];
