# Staged attachments: files on their way from a source to a destination. Zero Data Retention: the
# application deletes each file once written to the destination, and S3 deletes anything left after
# staged_object_expiry_days whatever happens to the application. No versions, no replicas, no access log
# (object keys carry customers' file names): nothing of a customer's file survives the lifecycle rule.

resource "aws_s3_bucket" "staged" {
  #checkov:skip=CKV_AWS_21:Zero Data Retention: versioning would keep deleted attachments; objects are transient by design.
  #checkov:skip=CKV_AWS_144:Zero Data Retention: a replica in another region would be a second copy of customers' files.
  #checkov:skip=CKV_AWS_18:Access logs would record customers' attachment file names (object keys) for longer than the files live.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to uploads: the worker that stages a file is the one that uses it.
  bucket_prefix = "${var.name}-staged-"
  force_destroy = true # only short-lived copies live here
}

resource "aws_s3_bucket_ownership_controls" "staged" {
  bucket = aws_s3_bucket.staged.id
  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs off: access only through IAM and the bucket policy
  }
}

resource "aws_s3_bucket_public_access_block" "staged" {
  bucket                  = aws_s3_bucket.staged.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "staged" {
  bucket = aws_s3_bucket.staged.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "staged" {
  bucket = aws_s3_bucket.staged.id

  rule {
    id     = "zero-data-retention"
    status = "Enabled"
    filter {}

    expiration {
      days = var.staged_object_expiry_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "staged" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.staged.arn, "${aws_s3_bucket.staged.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # No "deny unencrypted uploads" statement: the parts of a multipart upload carry no encryption header
  # and would be refused. Every object is encrypted by the bucket's default (SSE-KMS) anyway.
}

resource "aws_s3_bucket_policy" "staged" {
  bucket = aws_s3_bucket.staged.id
  policy = data.aws_iam_policy_document.staged.json

  depends_on = [aws_s3_bucket_public_access_block.staged]
}
