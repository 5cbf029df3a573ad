/** The password rule for staff and customer accounts, read by the server (which enforces it) and the desk's forms. */
export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 200;
