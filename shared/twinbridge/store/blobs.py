"""The node's attachment bucket: staged bytes for partners, handed out through short-lived presigned GETs."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from boto3.s3.transfer import TransferConfig
    from mypy_boto3_s3 import S3Client

PRESIGN_SECONDS = 15 * 60
PART_BYTES = 8 * 1024 * 1024


class AttachmentBucket:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    @classmethod
    def named(cls, bucket: str) -> AttachmentBucket:
        """The bucket with a client of its own, presigning with SigV4 (what presigned GETs need in every region)."""
        import boto3
        from botocore.config import Config

        client: S3Client = boto3.client("s3", config=Config(signature_version="s3v4"))
        return cls(client, bucket)

    def put(self, key: str, stream: IO[bytes], content_type: str) -> None:
        """Stream ``stream`` (from its current position) into the bucket; multipart above 8 MB."""
        self._client.upload_fileobj(stream, self._bucket, key, Config=_transfer_config(),
                                    ExtraArgs={"ContentType": content_type})

    def presign(self, key: str, seconds: int = PRESIGN_SECONDS) -> str:
        """A GET URL for ``key`` that anyone holding it may use for ``seconds``."""
        return self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=seconds)


def _transfer_config() -> TransferConfig:
    """8 MB parts, two in flight and two read ahead: about 32 MB of buffers whatever the file size (boto3's
    defaults read ten parts ahead, 80 MB; benchmarks/attachment_memory.py measures it)."""
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES, max_concurrency=2)
    config.max_in_memory_upload_chunks = 2  # s3transfer's setting; boto3's constructor does not take it
    return config
