/** What a form page does when the API refuses the submitted values: show the form again with why. */
import { ApiError } from "../api.js";
import type { PageResult } from "../portal.js";

/**
 * Runs `action`; a 4xx from the API (other than 401, which means logging in again) renders
 * `again` with the API's message, under the API's status, instead of an error page, so the
 * user can correct the form.
 */
export async function apiFailure(
  action: () => Promise<PageResult>,
  again: (message: string) => Promise<string>,
): Promise<PageResult> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 401)
      return { html: await again(error.message), status: error.status };
    throw error;
  }
}
