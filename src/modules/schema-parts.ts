/** JSON Schema pieces shared by modules. */
export const modeSchema = {
  type: 'string',
  pattern: '^[0-7]{3,4}$',
  description: 'Octal permissions as a quoted string, e.g. "0640" (unquoted YAML 0640 is not octal).',
} as const;

export const ownerSchema = {
  type: 'string',
  minLength: 1,
  description: 'User name or numeric uid.',
} as const;
export const groupSchema = {
  type: 'string',
  minLength: 1,
  description: 'Group name or numeric gid.',
} as const;

export const absolutePathSchema = {
  type: 'string',
  pattern: '^/',
  description: 'Absolute path on the target host.',
} as const;

/** A number of seconds above 0 (a timeout, an interval), at most `maximum` when given. */
export const secondsSchema = (description: string, maximum?: number) =>
  ({ type: 'number', exclusiveMinimum: 0, ...(maximum !== undefined && { maximum }), description }) as const;
