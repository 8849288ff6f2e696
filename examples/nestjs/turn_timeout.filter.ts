/**
 * Answers 423 Locked when a `@Turn` method's `timeout` runs out, instead of
 * Nest's default 500. Register it with
 * `app.useGlobalFilters(new TurnTimeoutFilter(app.get(HttpAdapterHost)))`.
 *
 * @module
 */

import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpStatus,
  Inject,
} from "@nestjs/common";
import { HttpAdapterHost } from "@nestjs/core";
import { TimeoutError } from "@turn/turn";

/** Maps the turn's {@linkcode TimeoutError} to 423 Locked. */
@Catch(TimeoutError)
export class TurnTimeoutFilter implements ExceptionFilter {
  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {}

  catch(error: TimeoutError, host: ArgumentsHost): void {
    const body = { statusCode: HttpStatus.LOCKED, message: error.message };
    this.adapterHost.httpAdapter.reply(
      host.switchToHttp().getResponse(),
      body,
      HttpStatus.LOCKED,
    );
  }
}
