package rpmhdr

// Tag numbers of the main header used by the repository generator.
const (
	TagName              = 1000
	TagVersion           = 1001
	TagRelease           = 1002
	TagEpoch             = 1003
	TagSummary           = 1004
	TagDescription       = 1005
	TagBuildTime         = 1006
	TagBuildHost         = 1007
	TagSize              = 1009
	TagVendor            = 1011
	TagLicense           = 1014
	TagPackager          = 1015
	TagGroup             = 1016
	TagURL               = 1020
	TagArch              = 1022
	TagOldFilenames      = 1027
	TagFileModes         = 1030
	TagFileFlags         = 1037
	TagSourceRPM         = 1044
	TagArchiveSize       = 1046
	TagProvideName       = 1047
	TagRequireFlags      = 1048
	TagRequireName       = 1049
	TagRequireVersion    = 1050
	TagConflictFlags     = 1053
	TagConflictName      = 1054
	TagConflictVersion   = 1055
	TagChangelogTime     = 1080
	TagChangelogName     = 1081
	TagChangelogText     = 1082
	TagObsoleteName      = 1090
	TagSourcePackage     = 1106
	TagProvideFlags      = 1112
	TagProvideVersion    = 1113
	TagObsoleteFlags     = 1114
	TagObsoleteVersion   = 1115
	TagDirIndexes        = 1116
	TagBaseNames         = 1117
	TagDirNames          = 1118
	TagLongSize          = 5009
	TagRecommendName     = 5046
	TagRecommendVersion  = 5047
	TagRecommendFlags    = 5048
	TagSuggestName       = 5049
	TagSuggestVersion    = 5050
	TagSuggestFlags      = 5051
	TagSupplementName    = 5052
	TagSupplementVersion = 5053
	TagSupplementFlags   = 5054
	TagEnhanceName       = 5055
	TagEnhanceVersion    = 5056
	TagEnhanceFlags      = 5057

	// TagLongArchiveSize is the same number in the signature and the main header.
	TagLongArchiveSize = 271
	// SigTagPayloadSize is the signature header's 32-bit uncompressed payload size.
	SigTagPayloadSize = 1007
)

// Data types of header entries.
const (
	TypeNull        = 0
	TypeChar        = 1
	TypeInt8        = 2
	TypeInt16       = 3
	TypeInt32       = 4
	TypeInt64       = 5
	TypeString      = 6
	TypeBin         = 7
	TypeStringArray = 8
	TypeI18NString  = 9
)
