// Every PostgreSQL migration, oldest first. Listed by hand: a file that is not here does not run.
import { CreateFoundationTables1795901079716 } from './1795901079716-CreateFoundationTables';

export const postgresMigrations = [CreateFoundationTables1795901079716];
