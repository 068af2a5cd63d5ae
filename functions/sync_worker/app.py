"""Sync worker: consumes the FIFO sync queue (tracker changes, deliveries, applies, unlinks), one typed job per
record. Partial batch failures are reported per record; a failing record holds back only its own message group."""

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from twinbridge.models.jobs import Job
from twinbridge.observability import logger, metrics
from twinbridge.services import routing
from twinbridge.wiring import wiring


class JobRecord(SqsRecordModel):
    """An SQS record whose JSON body is one job. (No postponed annotations in this module: the local runtime loads
    handlers by file path, where pydantic could not resolve them.)"""

    body: Json[Job]  # the record's JSON body, parsed into its job


# A record whose body is not a job fails (and ends in the DLQ after maxReceiveCount), holding back only its group.
processor = SqsFifoPartialProcessor(model=JobRecord, skip_group_on_error=True)


def record_handler(record: JobRecord) -> None:
    routing.handle(wiring(), record.body)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
