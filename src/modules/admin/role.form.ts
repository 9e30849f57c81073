import { IsIn } from 'class-validator';
import { Role, ROLES } from '../auth';

/** An account's role, as the users page's select sends it. */
export class RoleForm {
  @IsIn(ROLES) role!: Role;
}
